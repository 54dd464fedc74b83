/**
 * The contract's code table (contract.md §3) as typed errors.
 *
 * Every failure the server answers is one of these. One error handler renders them all as
 * `{"code","description"}` with the table's HTTP status; no route builds its own error JSON.
 * Descriptions never carry a secret: a password, a token or a key. The codes a verifier answers
 * too (3002, 3005, 9000) are @bizauth/verify's entries: one wording wherever a client meets them.
 */
import { VERIFY_ERROR_CODES } from '@bizauth/verify/core'
import type { RateWindow } from './limits/limits.js'

export const CODE_TABLE = {
  '3000': { status: 400, description: 'No allowed IP is registered for this account.' },
  '3001': { status: 400, description: 'The Basic authentication information is invalid.' },
  '3002': VERIFY_ERROR_CODES['3002'],
  '3003': { status: 400, description: 'The IP is invalid.' },
  '3004': { status: 400, description: 'The account is invalid.' },
  '3005': VERIFY_ERROR_CODES['3005'],
  '3006': { status: 400, description: 'The account does not exist.' },
  '3007': { status: 400, description: "The account's password is invalid." },
  '3008': { status: 400, description: 'The allowed number of connections was exceeded.' },
  '3009': { status: 400, description: 'The account is suspended.' },
  '3010': { status: 400, description: "The caller's IP does not match the account's allowed IPs." },
  '3011': { status: 400, description: 'Unknown error inside the service.' },
  '5001': { status: 400, description: 'The requested URI resource does not exist.' },
  // contract.md §6: the API rate limit is the one code answered 429, in the real service's words.
  '5002': { status: 429, description: 'too many requests' },
  '9000': VERIFY_ERROR_CODES['9000'],
} as const satisfies Record<string, { status: number; description: string }>

export type ContractCode = keyof typeof CODE_TABLE

export interface ContractErrorBody {
  code: ContractCode
  description: string
}

export class ContractError extends Error {
  override readonly name: string = 'ContractError'
  readonly code: ContractCode
  readonly status: number
  /** Seconds after which a retry may succeed; rendered as `Retry-After` (3008, 5002). */
  readonly retryAfterSeconds: number | undefined

  /** `status` replaces the table's where HTTP has a more precise word (the admin API's 403, 404, 409, 412). */
  constructor(code: ContractCode, description?: string, options?: { retryAfterSeconds?: number; cause?: unknown; status?: number }) {
    super(description ?? CODE_TABLE[code].description, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options?.status ?? CODE_TABLE[code].status
    this.retryAfterSeconds = options?.retryAfterSeconds
  }

  toJSON(): ContractErrorBody {
    return { code: this.code, description: this.message }
  }
}

export const NoAllowedIpError = (): ContractError => new ContractError('3000')
export const InvalidBasicCredentialsError = (): ContractError => new ContractError('3001')
export const InvalidTokenError = (): ContractError => new ContractError('3002')
export const InvalidIpError = (): ContractError => new ContractError('3003')
export const InvalidAccountError = (): ContractError => new ContractError('3004')
export const InvalidBearerError = (): ContractError => new ContractError('3005')
export const AccountNotFoundError = (): ContractError => new ContractError('3006')
export const WrongPasswordError = (): ContractError => new ContractError('3007')
export const TooManyConnectionsError = (retryAfterSeconds: number): ContractError =>
  new ContractError('3008', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) })
export const AccountSuspendedError = (): ContractError => new ContractError('3009')
/**
 * 429/5002 (contract.md §6): the account spent its requests of the window. It carries the window,
 * so the one renderer answers the RateLimit-* headers with it; Retry-After is the rest of the
 * window in whole seconds, never 0 (a client told 0 would retry into the same window at once).
 */
export class RateLimitedError extends ContractError {
  override readonly name: string = 'RateLimitedError'
  constructor(readonly window: RateWindow) {
    super('5002', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(window.resetInMs / 1000)) })
  }
}
/** 3010 names the address the server saw, so an operator can add it to the allow-list. */
export const IpNotAllowedError = (seenIp: string): ContractError =>
  new ContractError('3010', `The caller's IP (${seenIp}) does not match the account's allowed IPs.`)
/** A request the server could not read (framing, a body where none is taken): 3001, the token request's own code. */
export const UnreadableRequestError = (why = 'The request could not be read.'): ContractError => new ContractError('3001', why)
export const ServiceError = (): ContractError => new ContractError('3011')
export const NotFoundError = (): ContractError => new ContractError('5001')
export const UnknownError = (): ContractError => new ContractError('9000')

// --- the admin API (issue 10 §2): the contract's body, with HTTP's status where it has a word ---

/** What an admin request's input may be wrong about; each names the contract code of its kind. */
const INPUT_CODES = { id: '3004', account: '3004', allowed_ips: '3003' } as const satisfies Record<string, ContractCode>

/** Bad admin input (malformed JSON, an unknown field, a wrong type, a value the service refuses), naming the field. */
export const AdminInputError = (field: string, why: string): ContractError =>
  new ContractError((INPUT_CODES as Record<string, ContractCode>)[field] ?? '3001', `${field}: ${why}`)
/** A valid admin token whose account lacks the role: 403, in the form of 3005. */
export const RoleRequiredError = (role: string): ContractError =>
  new ContractError('3005', `This request needs an account with the role "${role}".`, { status: 403 })
export const UnknownAccountError = (accountId: string): ContractError =>
  new ContractError('3006', `The account "${accountId}" does not exist.`, { status: 404 })
export const DuplicateAccountError = (accountId: string): ContractError =>
  new ContractError('3004', `An account "${accountId}" already exists.`, { status: 409 })
/** If-Match named a version the account has moved past: someone changed it since it was read. */
export const StaleAccountVersionError = (accountId: string): ContractError =>
  new ContractError('3004', `The account "${accountId}" changed since it was read: read it again (its new ETag) and retry.`, { status: 412 })
/** A change that must name the version it was read at (RFC 6585 §3). */
export const VersionRequiredError = (): ContractError =>
  new ContractError('3004', 'This change needs an If-Match header with the ETag the account was read with.', { status: 428 })
