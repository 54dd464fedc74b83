import { tokenInvalid } from '../errors.js'

/**
 * The claims of a verified bizauth access token (wire.md, "Access tokens"). Other claims a token
 * carries are kept but not promised. The object is frozen: the cache hands the same one to every
 * request that presents the same token.
 */
export interface VerifiedClaims {
  readonly iss: string
  readonly sub: string
  readonly iat: number
  readonly exp: number
  readonly jti: string
  readonly nbf?: number
  readonly [claim: string]: unknown
}

export interface ClaimsPolicy {
  readonly issuer: string
  readonly clockToleranceSeconds: number
  /**
   * Tokens that claim to live longer (beyond the clock tolerance) are refused; it also bounds
   * how long revocations are kept.
   */
  readonly maxTokenLifetimeSeconds: number
}

/** RFC 7519 §4.1 checks, strict about types: a claim of the wrong type is a bad token. */
export function validateClaims(payload: Record<string, unknown>, policy: ClaimsPolicy, nowSeconds: number): VerifiedClaims {
  const { iss, sub, iat, exp, jti, nbf } = payload
  if (typeof iss !== 'string' || typeof sub !== 'string' || sub === '' || typeof jti !== 'string' || jti === ''
    || !isNumericDate(iat) || !isNumericDate(exp) || (nbf !== undefined && !isNumericDate(nbf))) {
    throw tokenInvalid('missing_claim')
  }
  if (iss !== policy.issuer) throw tokenInvalid('bad_issuer')
  // The tolerance here too, so that the server and every verifier draw the line at one instant.
  if (exp - iat > policy.maxTokenLifetimeSeconds + policy.clockToleranceSeconds) throw tokenInvalid('lifetime_too_long')
  assertTimely({ iat, exp, nbf: nbf as number | undefined }, policy.clockToleranceSeconds, nowSeconds)
  return Object.freeze(payload) as VerifiedClaims
}

/** exp in the past, nbf or iat in the future, each beyond the tolerance, make a token invalid. */
export function assertTimely(
  times: { iat: number; exp: number; nbf?: number | undefined },
  toleranceSeconds: number,
  nowSeconds: number,
): void {
  if (nowSeconds >= times.exp + toleranceSeconds) throw tokenInvalid('expired')
  if (times.nbf !== undefined && times.nbf > nowSeconds + toleranceSeconds) throw tokenInvalid('not_yet_valid')
  if (times.iat > nowSeconds + toleranceSeconds) throw tokenInvalid('issued_in_future')
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}
