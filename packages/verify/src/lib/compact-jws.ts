import { isUtf8 } from 'node:buffer'
import { tokenInvalid } from '../errors.js'

/** A compact JWS (RFC 7515 §7.1) split into its parts; nothing in it is trusted yet. */
export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>
  readonly payloadSegment: string
  /** `BASE64URL(header) "." BASE64URL(payload)`, the bytes the signature covers. */
  readonly signingInput: Buffer
  readonly signature: Buffer
}

const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Splits and strictly decodes a compact JWS. Throws 3002 for every structural problem. */
export function parseCompactJws(token: string): CompactJws {
  const firstDot = token.indexOf('.')
  const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1)
  if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) throw tokenInvalid('malformed')
  const headerSegment = token.slice(0, firstDot)
  const payloadSegment = token.slice(firstDot + 1, secondDot)
  const signatureSegment = token.slice(secondDot + 1)
  if (headerSegment.length === 0 || payloadSegment.length === 0) throw tokenInvalid('malformed')
  assertBase64url(payloadSegment)
  return {
    header: decodeJsonSegment(headerSegment),
    payloadSegment,
    signingInput: Buffer.from(token.slice(0, secondDot), 'latin1'),
    signature: decodeBase64url(signatureSegment),
  }
}

/** Decodes a JSON object segment (the JOSE header or, after the signature check, the claims). */
export function decodeJsonSegment(segment: string): Record<string, unknown> {
  const bytes = decodeBase64url(segment)
  // RFC 8259 §8.1: JSON is UTF-8; invalid sequences are refused, not replaced with U+FFFD.
  if (!isUtf8(bytes)) throw tokenInvalid('bad_json')
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw tokenInvalid('bad_json')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw tokenInvalid('bad_json')
  return value as Record<string, unknown>
}

/**
 * RFC 7515 §2 base64url without padding, and only its canonical form: Node's decoder silently
 * skips foreign characters and ignores non-zero trailing bits, so one signature would otherwise
 * have several spellings.
 */
function decodeBase64url(segment: string): Buffer {
  assertBase64url(segment)
  const bytes = Buffer.from(segment, 'base64url')
  if (bytes.toString('base64url') !== segment) throw tokenInvalid('bad_base64url')
  return bytes
}

function assertBase64url(segment: string): void {
  if (segment.length % 4 === 1 || !BASE64URL.test(segment)) throw tokenInvalid('bad_base64url')
}
