/**
 * Every failure of the client is one `BizauthError` with a stable `code` (STYLE.md: typed errors
 * with stable codes). The codes are the contract's own (contract.md §3) plus the failures that
 * happen before the service can answer.
 */

/** Codes that exist only on the client side. */
export type ClientOnlyCode =
  | 'NETWORK' // the connection failed or was reset
  | 'TIMEOUT' // no complete answer within `timeoutMs` (or the store lock could not be taken in time)
  | 'BAD_RESPONSE' // an answer that is not the contract's JSON: truncated, not JSON, fields missing
  | 'STORE' // the token store failed (a file that cannot be read or written)

/** A contract code such as '3007', or one of the client-only codes. */
export type BizauthErrorCode = ClientOnlyCode | (string & {})

/**
 * Codes worth trying again. 3008 (too many connections), 5002 (too many requests, contract.md §6),
 * 3011 and 9000 are the service's transient failures; everything else in the 30xx range is about
 * the caller and will not change by retrying (retrying 3007, a wrong password, only locks the account).
 */
const RETRYABLE_CONTRACT_CODES: ReadonlySet<string> = new Set(['3008', '3011', '5002', '9000'])
const RETRYABLE_CLIENT_CODES: ReadonlySet<string> = new Set(['NETWORK', 'TIMEOUT'])

/**
 * The API rate limit speaking (contract.md §6): HTTP 429, or code 5002 whatever the status. The
 * code arrives as the number 5002 or the string "5002"; both are the string '5002' here.
 */
export function isRateLimitRefusal(code: string, httpStatus: number | undefined): boolean {
  return httpStatus === 429 || code === '5002'
}

/**
 * Whether a failure may succeed when tried again. A known code decides by itself; an unknown one
 * (or a body that is not the contract's JSON) decides by the HTTP status: 5xx is transient. A 429
 * always is, whatever code it carries: it says "later", not "never".
 */
export function isRetryable(code: string, httpStatus: number | undefined): boolean {
  if (RETRYABLE_CONTRACT_CODES.has(code) || RETRYABLE_CLIENT_CODES.has(code)) return true
  if (isRateLimitRefusal(code, httpStatus)) return true
  if (/^\d{4}$/.test(code)) return false
  return httpStatus !== undefined && httpStatus >= 500
}

export interface BizauthErrorOptions {
  httpStatus?: number | undefined
  retryable?: boolean
  /** How long the service asked us to wait (`Retry-After`, else a refusal's `RateLimit-Reset`), in milliseconds. */
  retryAfterMs?: number | undefined
  cause?: unknown
}

export class BizauthError extends Error {
  override readonly name = 'BizauthError'
  /** The contract code ('3007', …) or 'NETWORK' | 'TIMEOUT' | 'BAD_RESPONSE' | 'STORE'. */
  readonly code: BizauthErrorCode
  /** The HTTP status of the answer, or undefined when there was no answer. */
  readonly httpStatus: number | undefined
  /** The service's description, or the client's own for client-only codes. Never holds a secret. */
  readonly description: string
  /** Whether trying again may succeed. */
  readonly retryable: boolean
  /** How long the service asked us to wait, in milliseconds: its `Retry-After`, else (on a rate-limit refusal) its `RateLimit-Reset`. */
  readonly retryAfterMs: number | undefined

  constructor(code: BizauthErrorCode, description: string, options: BizauthErrorOptions = {}) {
    super(`${code} ${description}`, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.httpStatus = options.httpStatus
    this.description = description
    this.retryable = options.retryable ?? isRetryable(code, options.httpStatus)
    this.retryAfterMs = options.retryAfterMs
  }

  toJSON(): { code: string; httpStatus: number | undefined; description: string; retryable: boolean } {
    return { code: this.code, httpStatus: this.httpStatus, description: this.description, retryable: this.retryable }
  }
}

/** Removes any of `secrets` from text that came from outside (a server's description, an error message). */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text
  for (const secret of secrets) {
    if (secret.length > 0) scrubbed = scrubbed.split(secret).join('[redacted]')
  }
  return scrubbed
}
