/**
 * `Authorization: Basic base64(account ":" password)`, RFC 7617 as contract.md §4 reads it:
 * the scheme name is case-insensitive, exactly one space follows it (the original page stresses
 * this), standard base64 (not URL-safe), UTF-8 on both sides of the first `:`.
 *
 * Returns undefined for anything else; the authenticator answers 3001.
 */
import type { PasswordCredentials } from '../accounts/authenticate.js'

/** Far above any real credential; keeps decoding cost bounded whatever the client sends. */
const MAX_ENCODED_LENGTH = 4096
const BASIC_PATTERN = /^basic ([A-Za-z0-9+/]+={0,2})$/i
const utf8 = new TextDecoder('utf-8', { fatal: true })

export function parseBasicCredentials(header: string | undefined): PasswordCredentials | undefined {
  if (header === undefined || header.length > MAX_ENCODED_LENGTH + 6) return undefined
  const match = BASIC_PATTERN.exec(header)
  if (!match) return undefined
  const encoded = match[1]!
  // Padding, when present, must make a whole number of quanta; unpadded input is tolerated.
  if (encoded.includes('=') && encoded.length % 4 !== 0) return undefined
  if (encoded.replace(/=+$/, '').length % 4 === 1) return undefined
  let decoded: string
  try {
    decoded = utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    return undefined
  }
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { account: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
