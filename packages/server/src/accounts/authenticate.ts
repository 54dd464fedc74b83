/**
 * Who is asking: the checks of issue 2 §2, in the contract's order, with the abuse
 * resistance of issue 3 woven in. Knows nothing of HTTP: the route hands it the Basic
 * header and the client address.
 *
 *   0. client IP blocked by the failure limit ................ 3008
 *   1. header missing/undecodable, no colon ................... 3001
 *   2. account id of the wrong shape .......................... 3004
 *   3. no such account (after a dummy argon2id check) ......... 3006  (3001 with uniform errors)
 *   4. allow-list: none registered 3000, address unreadable 3003, no match 3010
 *   5. account locked out (no hashing at all) ................. 3008
 *   6. wrong password ......................................... 3007  (3001 with uniform errors)
 *   7. suspended (only the owner learns this) ................. 3009
 */
import {
  AccountNotFoundError,
  AccountSuspendedError,
  ContractError,
  InvalidAccountError,
  InvalidBasicCredentialsError,
  InvalidIpError,
  IpNotAllowedError,
  NoAllowedIpError,
  TooManyConnectionsError,
  WrongPasswordError,
} from '../errors.js'
import { parseBasicCredentials } from '../http/basic-auth.js'
import { anyCidrContains, formatIpAddress, parseCidr, type Cidr, type IpAddress } from '../net/cidr.js'
import type { Account, Store } from '../store/store.js'
import type { Limits } from '../limits/limits.js'
import { isValidAccountId } from './account-id.js'
import type { CredentialCache } from './credential-cache.js'
import { HashQueueFullError } from './hash-queue.js'
import type { PasswordHasher } from './passwords.js'

export interface AuthenticatorDeps {
  store: Store
  hasher: PasswordHasher
  cache: CredentialCache
  limits: Limits
  /** A hash of a random password with the current parameters: unknown accounts cost the same. */
  dummyHash: string
  uniformAuthErrors: boolean
  onUpgradeError?: (error: unknown) => void
}

export class Authenticator {
  readonly #deps: AuthenticatorDeps
  readonly #parsedCidrs = new Map<string, Cidr>()

  constructor(deps: AuthenticatorDeps) {
    this.#deps = deps
  }

  /** Resolves to the authenticated, active account, or rejects with a ContractError. */
  async authenticate(authorization: string | undefined, clientIp: IpAddress | undefined, now = Date.now()): Promise<Account> {
    const ipKey = clientIp ? ipLimitKey(clientIp) : undefined
    if (ipKey !== undefined) {
      const wait = await this.#deps.limits.ipBlockedFor(ipKey, now)
      if (wait > 0) throw TooManyConnectionsError(wait)
    }
    try {
      return await this.#check(authorization, clientIp, now)
    } catch (error) {
      if (ipKey !== undefined && error instanceof ContractError && error.code !== '3008') {
        await this.#deps.limits.recordIpFailure(ipKey, now)
      }
      throw error
    }
  }

  async #check(authorization: string | undefined, clientIp: IpAddress | undefined, now: number): Promise<Account> {
    const { store, limits, uniformAuthErrors } = this.#deps
    const credentials = parseBasicCredentials(authorization)
    if (!credentials) throw InvalidBasicCredentialsError()
    const { account: accountId, password } = credentials
    if (!isValidAccountId(accountId)) throw InvalidAccountError()

    const account = await store.getAccount(accountId)
    if (!account) {
      await this.#verify(this.#deps.dummyHash, password)
      throw uniformAuthErrors ? InvalidBasicCredentialsError() : AccountNotFoundError()
    }

    this.#checkAllowedIp(account, clientIp)

    const locked = await limits.accountLockedFor(account.id, now)
    if (locked > 0) throw TooManyConnectionsError(locked)

    if (!(await this.#checkPassword(account, password, now))) {
      await limits.recordPasswordFailure(account.id, now)
      throw uniformAuthErrors ? InvalidBasicCredentialsError() : WrongPasswordError()
    }
    await limits.recordPasswordSuccess(account.id)

    if (account.status === 'suspended') throw AccountSuspendedError()
    return account
  }

  #checkAllowedIp(account: Account, clientIp: IpAddress | undefined): void {
    if (account.allowedIps.length === 0) throw NoAllowedIpError()
    if (!clientIp) throw InvalidIpError()
    const ranges = account.allowedIps.map((text) => this.#cidr(text))
    if (!anyCidrContains(ranges, clientIp)) throw IpNotAllowedError(formatIpAddress(clientIp))
  }

  #cidr(text: string): Cidr {
    let parsed = this.#parsedCidrs.get(text)
    if (!parsed) {
      if (this.#parsedCidrs.size > 10_000) this.#parsedCidrs.clear()
      parsed = parseCidr(text)
      this.#parsedCidrs.set(text, parsed)
    }
    return parsed
  }

  async #checkPassword(account: Account, password: string, now: number): Promise<boolean> {
    const { cache, hasher } = this.#deps
    const fingerprint = cache.fingerprint(account.id, password)
    if (cache.hit(fingerprint, account, now)) return true
    const valid = await cache.singleFlight(fingerprint, account.passwordHash, () => this.#verify(account.passwordHash, password))
    if (!valid) return false
    cache.remember(fingerprint, account, now)
    if (hasher.needsRehash(account.passwordHash)) this.#upgradeHash(account, password)
    return true
  }

  async #verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await this.#deps.hasher.verify(passwordHash, password)
    } catch (error) {
      if (error instanceof HashQueueFullError) throw TooManyConnectionsError(error.retryAfterSeconds)
      throw error
    }
  }

  /** Re-hash with the current parameters in the background; a concurrent password change wins. */
  #upgradeHash(account: Account, password: string): void {
    const { hasher, store, onUpgradeError } = this.#deps
    hasher
      .hash(password)
      .then((newHash) => store.upgradePasswordHash(account.id, account.passwordHash, newHash))
      .catch((error: unknown) => {
        if (!(error instanceof HashQueueFullError)) onUpgradeError?.(error)
      })
  }
}

/**
 * What the per-IP failure limit counts: an IPv4 address, or an IPv6 /64. One IPv6 subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would let one attacker rotate
 * through 2^64 of them and never be blocked.
 */
export function ipLimitKey(address: IpAddress): string {
  if (address.family === 4) return formatIpAddress(address)
  const network = new Uint8Array(16)
  network.set(address.bytes.subarray(0, 8))
  return `${formatIpAddress({ family: 6, bytes: network })}/64`
}
