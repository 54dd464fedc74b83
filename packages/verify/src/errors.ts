/**
 * The errors `verify()` rejects with. The codes and descriptions are the contract's code table
 * (contract.md §3): a resource server renders them as HTTP 400 `{"code","description"}` exactly
 * like the token service itself does, so clients handle one set of codes everywhere.
 *
 * `reason` is a short, non-secret word for logs and metrics. Neither the message nor any field
 * ever contains the token.
 */

/** The contract's code table, restricted to what a verifier can answer. */
export const VERIFY_ERROR_CODES = Object.freeze({
  '3002': Object.freeze({ status: 400, description: 'The token is invalid.' }),
  '3005': Object.freeze({ status: 400, description: 'The authentication information is invalid.' }),
  // Not the caller's fault: the verifier could not reach the JWKS, the revocations feed or the
  // introspection endpoint, so it cannot tell whether the token is good. Contract §3: 500 9000.
  '9000': Object.freeze({ status: 500, description: 'Unknown error.' }),
} as const)

export type VerifyErrorCode = keyof typeof VERIFY_ERROR_CODES

/** 3005: the Authorization header itself (RFC 6750 §2.1). */
export type HeaderFailureReason = 'missing_header' | 'not_bearer' | 'malformed_header'

/**
 * 3002: the token. The server's introspection answers `{"active":false}` for exactly these,
 * decided by the same code (`@bizauth/verify/core`), and names its verdicts with them.
 */
export type TokenFailureReason =
  | 'too_large'
  | 'malformed'
  | 'bad_base64url'
  | 'bad_json'
  | 'crit_unsupported'
  | 'typ_not_allowed'
  | 'alg_not_allowed'
  | 'alg_mismatch'
  | 'unknown_kid'
  | 'bad_signature'
  | 'bad_issuer'
  | 'missing_claim'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'lifetime_too_long'
  | 'revoked'
  | 'inactive'

/** 9000: the verifier's own dependencies. */
export type UnavailableReason = 'jwks_unavailable' | 'revocations_unavailable' | 'introspection_unavailable'

/** Why a header or a token was refused; stable, safe to log, never contains the token. */
export type VerifyFailureReason = HeaderFailureReason | TokenFailureReason | UnavailableReason

export class VerifyError extends Error {
  override readonly name = 'VerifyError'
  readonly code: VerifyErrorCode
  readonly status: number
  readonly description: string
  readonly reason: VerifyFailureReason

  constructor(code: VerifyErrorCode, reason: VerifyFailureReason) {
    const entry = VERIFY_ERROR_CODES[code]
    super(`${entry.description} (${reason})`)
    this.code = code
    this.status = entry.status
    this.description = entry.description
    this.reason = reason
  }

  /** The contract's error body: `{"code","description"}`. */
  toJSON(): { code: VerifyErrorCode; description: string } {
    return { code: this.code, description: this.description }
  }
}

/** 3005: the Authorization header is missing or is not `Bearer <token>`. */
export function authenticationInvalid(reason: HeaderFailureReason): VerifyError {
  return new VerifyError('3005', reason)
}

/** 3002: something is wrong with the token itself. */
export function tokenInvalid(reason: TokenFailureReason): VerifyError {
  return new VerifyError('3002', reason)
}

/** 9000: a dependency of the verifier is unreachable; the token's validity is unknown. */
export function verifierUnavailable(reason: UnavailableReason): VerifyError {
  return new VerifyError('9000', reason)
}

export function isVerifyError(value: unknown): value is VerifyError {
  return value instanceof VerifyError
}
