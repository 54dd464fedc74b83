import { authenticationInvalid, tokenInvalid } from '../errors.js'

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, where
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// The contract (§1, "exactly one space") is stricter than 1*SP, so exactly one space it is.
// A credential with characters outside b64token is a malformed header (3005); a well-formed
// credential that is not a valid compact JWS is a bad token (3002).
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const SCHEME_LENGTH = 'Bearer '.length

/**
 * Returns the credential of an `Authorization: Bearer <token>` header without checking its
 * characters (see {@link assertB64Token}); the cache lookup runs in between, because a token that
 * is in the cache has passed that check already.
 */
export function readBearerCredential(authorization: unknown, maxTokenLength: number): string {
  if (authorization === undefined || authorization === null || authorization === '') {
    throw authenticationInvalid('missing_header')
  }
  if (typeof authorization !== 'string') throw authenticationInvalid('malformed_header')
  if (!hasBearerScheme(authorization)) throw authenticationInvalid('not_bearer')
  const credential = authorization.slice(SCHEME_LENGTH)
  if (credential.length === 0) throw authenticationInvalid('malformed_header')
  // Checked before any other work, so that a megabyte of garbage costs nothing more.
  if (credential.length > maxTokenLength) throw tokenInvalid('too_large')
  return credential
}

/** The whole grammar at once, for callers without a cache to consult in between (the server). */
export function readBearerToken(authorization: unknown, maxTokenLength: number): string {
  const credential = readBearerCredential(authorization, maxTokenLength)
  assertB64Token(credential)
  return credential
}

export function assertB64Token(credential: string): void {
  if (!B64TOKEN.test(credential)) throw authenticationInvalid('malformed_header')
}

/** The scheme is case-insensitive (RFC 7235 §2.1); the common spelling takes the fast path. */
function hasBearerScheme(authorization: string): boolean {
  if (authorization.startsWith('Bearer ')) return true
  return authorization.length > SCHEME_LENGTH
    && authorization.charCodeAt(6) === 32
    && authorization.slice(0, 6).toLowerCase() === 'bearer'
}
