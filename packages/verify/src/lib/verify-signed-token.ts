import { tokenInvalid } from '../errors.js'
import { validateClaims, type ClaimsPolicy, type VerifiedClaims } from './claims.js'
import { parseCompactJws, decodeJsonSegment, type CompactJws } from './compact-jws.js'
import type { KeySet } from './static-key-set.js'
import type { VerificationKey } from './verification-key.js'

const SUPPORTED_ALGORITHMS: ReadonlySet<unknown> = new Set(['EdDSA', 'ES256', 'HS256'])

/**
 * The full check of one token against local keys, in the order RFC 8725 asks for: structure,
 * header, key chosen by kid with the algorithm fixed by that key, signature, and only then the
 * claims (nothing of the payload is believed before its signature is). The server's
 * introspection runs this same function against its key ring: one definition of a valid token.
 */
export async function verifySignedToken(
  token: string,
  keySet: KeySet,
  policy: ClaimsPolicy,
  nowSeconds: number,
): Promise<VerifiedClaims> {
  const jws = parseCompactJws(token)
  const { alg, kid } = jws.header
  if (!SUPPORTED_ALGORITHMS.has(alg)) throw tokenInvalid('alg_not_allowed') // "none" among others
  assertNoExtensions(jws.header)
  if (!isJwtType(jws.header.typ)) throw tokenInvalid('typ_not_allowed')
  if (kid !== undefined && typeof kid !== 'string') throw tokenInvalid('malformed')
  const candidates = await keySet.candidatesFor(kid)
  if (candidates.length === 0) throw tokenInvalid('unknown_kid')
  const matching = candidates.filter((key) => key.alg === alg)
  if (matching.length === 0) throw tokenInvalid('alg_mismatch')
  if (!matching.some((key) => signatureHolds(key, jws))) throw tokenInvalid('bad_signature')
  return validateClaims(decodeJsonSegment(jws.payloadSegment), policy, nowSeconds)
}

/** RFC 7515 §4.1.11: a `crit` extension this verifier does not know makes the token invalid. */
function assertNoExtensions(header: Readonly<Record<string, unknown>>): void {
  if (header.crit !== undefined) throw tokenInvalid('crit_unsupported')
  // RFC 7797 unencoded payloads change what the signature covers; never accepted here.
  if (header.b64 !== undefined && header.b64 !== true) throw tokenInvalid('crit_unsupported')
}

/**
 * bizauth signs `typ: "JWT"`. Absent is fine (RFC 7519 §5.1 makes it optional); anything else,
 * such as `at+jwt` or `JOSE`, is another kind of token that must not pass for an access token of
 * ours (RFC 8725 §3.11). Compared as RFC 7515 §4.1.9 says media types are: case-insensitively,
 * with "application/" implied, so `jwt` and `application/jwt` are the same type.
 */
function isJwtType(typ: unknown): boolean {
  if (typ === undefined || typ === 'JWT') return true
  if (typeof typ !== 'string') return false
  const mediaType = typ.toLowerCase()
  return mediaType === 'jwt' || mediaType === 'application/jwt'
}

function signatureHolds(key: VerificationKey, jws: CompactJws): boolean {
  try {
    return key.verifySignature(jws.signingInput, jws.signature)
  } catch {
    return false // node:crypto throws on some malformed signatures; that is a bad signature too
  }
}
