/**
 * The contract's code table (contract.md §3) as typed errors.
 *
 * Every failure the server answers is one of these. One error handler renders them all as
 * `{"code","description"}` with the table's HTTP status; no route builds its own error JSON.
 * Descriptions never carry a secret: a password, a token or a key. The codes a verifier answers
 * too (3002, 3005, 9000) are @bizauth/verify's entries: one wording wherever a client meets them.
 */
import { VERIFY_ERROR_CODES } from '@bizauth/verify/core'

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
  /** Seconds after which a retry may succeed; rendered as `Retry-After` (3008). */
  readonly retryAfterSeconds: number | undefined

  constructor(code: ContractCode, description?: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(description ?? CODE_TABLE[code].description, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = CODE_TABLE[code].status
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
/** 3010 names the address the server saw, so an operator can add it to the allow-list. */
export const IpNotAllowedError = (seenIp: string): ContractError =>
  new ContractError('3010', `The caller's IP (${seenIp}) does not match the account's allowed IPs.`)
/** A request the server could not read (framing, a body where none is taken): 3001, the token request's own code. */
export const UnreadableRequestError = (why = 'The request could not be read.'): ContractError => new ContractError('3001', why)
export const ServiceError = (): ContractError => new ContractError('3011')
export const NotFoundError = (): ContractError => new ContractError('5001')
export const UnknownError = (): ContractError => new ContractError('9000')
