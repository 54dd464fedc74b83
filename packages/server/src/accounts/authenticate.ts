/**
 * Who is asking: the checks of issue 2 §2, in the contract's order, with the abuse
 * resistance of issue 3 woven in. Knows nothing of HTTP: the route parses the Basic header
 * (undefined when it is unreadable) and resolves the client address.
 *
 *   0. client IP blocked by the failure limit ................ 3008
 *   1. header missing/undecodable, no colon ................... 3001
 *   2. account id of the wrong shape .......................... 3004
 *   3. no such account (after a dummy argon2id check) ......... 3006
 *   4. allow-list: none registered 3000, address unreadable 3003, no match 3010
 *   5. account locked out (no hashing at all) ................. 3008
 *   6. wrong password ......................................... 3007
 *   7. suspended (only the owner learns this) ................. 3009
 *
 * With uniform errors, 3, 4 and 6 all become 3001 after one argon2id check, and unknown ids
 * count towards a lockout exactly like existing ones: nothing in the answer tells whether an
 * account exists, from any address (issue 13 §5).
 *
 * Every argon2id check is reserved against the account's and the address's failure budgets
 * before it runs (limits/limits.ts), so concurrent guesses cannot outrun the lockout.
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
import { anyCidrContains, formatIpAddress, parseCidr, type Cidr, type IpAddress } from '../net/cidr.js'
import type { Account, Store } from '../store/store.js'
import { lockoutKey, type Limits } from '../limits/limits.js'
import { isValidAccountId } from './account-id.js'
import type { CredentialCache } from './credential-cache.js'
import { HashQueueFullError } from './hash-queue.js'
import { acceptedPasswordHashes, type PasswordHasher } from './passwords.js'

/** An account id and password as the client sent them (RFC 7617 for the token route). */
export interface PasswordCredentials {
  account: string
  password: string
}

/** A successful authentication, and the `iat` any token issued on its strength must carry. */
export interface Authentication {
  account: Account
  /**
   * Epoch seconds: when the account row this decision rests on was first read, or its
   * valid-after instant if that is later. A change committed after the read moves valid-after
   * past this (store/accounts.ts), so a token issued with it is revoked by that change however
   * long the request then waited for the hash queue (issue 13 §1).
   */
  issuedAt: number
  /** Whether the credential cache answered (no argon2id check): for the access log and metrics. */
  cached: boolean
}

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

/** A right password: the stored hash it matched, and whether the cache knew it or a check ran. */
interface PasswordMatch {
  via: 'cache' | 'check'
  passwordHash: string
}

/** A re-read that keeps finding a changed account gives up after this many rounds. */
const MAX_STATE_CHECKS = 3

export class Authenticator {
  readonly #deps: AuthenticatorDeps
  readonly #parsedCidrs = new Map<string, Cidr>()

  constructor(deps: AuthenticatorDeps) {
    this.#deps = deps
  }

  /** Resolves to the authenticated, active account, or rejects with a ContractError. */
  async authenticate(credentials: PasswordCredentials | undefined, clientIp: IpAddress | undefined, now = Date.now()): Promise<Authentication> {
    const budget = new AddressBudget(this.#deps.limits, clientIp && ipLimitKey(clientIp), now)
    await budget.admit()
    try {
      const authentication = await this.#check(credentials, clientIp, budget, now)
      await budget.succeeded()
      return authentication
    } catch (error) {
      // A 3008 is the limit speaking, not the caller failing; an internal error is nobody's failure.
      if (error instanceof ContractError && error.code !== '3008') await budget.failed()
      else await budget.released()
      throw error
    }
  }

  async #check(credentials: PasswordCredentials | undefined, clientIp: IpAddress | undefined, budget: AddressBudget, now: number): Promise<Authentication> {
    if (!credentials) throw InvalidBasicCredentialsError()
    const { account: accountId, password } = credentials
    if (!isValidAccountId(accountId)) throw InvalidAccountError()

    const readAt = Date.now()
    const account = await this.#deps.store.getAccount(accountId)
    const issuedAt = account ? Math.max(Math.floor(readAt / 1000), account.tokensValidAfter) : 0

    if (this.#deps.uniformAuthErrors) {
      const refusal = account ? this.allowListRefusal(account, clientIp) : AccountNotFoundError()
      if (refusal) {
        // Exactly what an unknown account costs and answers: a lockout count under the id, one
        // dummy check, 3001. (An existing account counts under its own generation.)
        await this.#checkPassword({ id: accountId, lockoutGeneration: account?.lockoutGeneration ?? 0 }, password, budget, now)
        throw InvalidBasicCredentialsError()
      }
    } else {
      if (!account) {
        await this.#reservedCheck(budget, undefined, () => this.#verify(this.#deps.dummyHash, password), now)
        throw AccountNotFoundError()
      }
      const refusal = this.allowListRefusal(account, clientIp)
      if (refusal) throw refusal
    }
    return this.#checkAccount(account!, password, clientIp, budget, now, issuedAt, 1)
  }

  /** Steps 5-7 for an account whose allow-list admits the caller. */
  async #checkAccount(
    account: Account,
    password: string,
    clientIp: IpAddress | undefined,
    budget: AddressBudget,
    now: number,
    issuedAt: number,
    round: number,
  ): Promise<Authentication> {
    const { store, cache, uniformAuthErrors } = this.#deps
    const hashed = await this.#checkPassword(account, password, budget, now)
    if (hashed === false) throw uniformAuthErrors ? InvalidBasicCredentialsError() : WrongPasswordError()

    if (hashed.via === 'check' && round < MAX_STATE_CHECKS) {
      // The check may have waited for the hash queue while an operator changed the account:
      // read it again and decide on what is stored now. `issuedAt` stays that of the first read,
      // so a revocation committed meanwhile still reaches the token.
      const fresh = await store.getAccount(account.id)
      if (!fresh) throw uniformAuthErrors ? InvalidBasicCredentialsError() : AccountNotFoundError()
      if (fresh.version !== account.version) {
        const refusal = this.allowListRefusal(fresh, clientIp)
        if (refusal) throw uniformAuthErrors ? InvalidBasicCredentialsError() : refusal
        // The password was verified against a hash the account still accepts: no second argon2id run for it.
        if (acceptedPasswordHashes(fresh, now).includes(hashed.passwordHash)) {
          cache.remember(cache.fingerprint(fresh.id, password), { id: fresh.id, version: fresh.version, passwordHash: hashed.passwordHash }, now)
        }
        return this.#checkAccount(fresh, password, clientIp, budget, now, issuedAt, round + 1)
      }
    }
    if (account.status === 'suspended') throw AccountSuspendedError()
    return { account, issuedAt, cached: hashed.via === 'cache' }
  }

  /**
   * The lockout and the password itself. Resolves to the stored hash a right password matched
   * (from the cache or a check), false for a wrong one; rejects with 3008 when the lockout or a
   * budget refuses. During a rotation either the current or the previous hash may match, and a
   * wrong password is one that matches neither: one failure, one reservation.
   * `target` without a hash (uniform errors, an account that must look unknown) is checked
   * against the dummy hash and so always fails, at the same cost.
   */
  async #checkPassword(
    target: Pick<Account, 'id' | 'lockoutGeneration'> & Partial<Account>,
    password: string,
    budget: AddressBudget,
    now: number,
  ): Promise<PasswordMatch | false> {
    const { cache, hasher, limits } = this.#deps
    const key = lockoutKey(target.id, target.lockoutGeneration)
    const standing = await limits.accountStanding(key, now)
    if (standing.wait > 0) throw TooManyConnectionsError(standing.wait)

    const account = target.passwordHash === undefined ? undefined : (target as Account)
    const fingerprint = cache.fingerprint(target.id, password)
    const cachedHash = account && cache.matchedHash(fingerprint, account, now)
    if (cachedHash) {
      await limits.recordPasswordSuccess(key, standing.failures)
      return { via: 'cache', passwordHash: cachedHash }
    }
    const hashes = account ? acceptedPasswordHashes(account, now) : [this.#deps.dummyHash]
    // Concurrent requests with the same credentials share one check, and only that check is
    // reserved: they are one guess, however many times it is sent.
    const matched = await cache.singleFlight(fingerprint, hashes.join('\0'), () =>
      this.#reservedCheck(budget, key, () => this.#firstMatch(hashes, password), now),
    )
    if (matched === undefined || !account) {
      await limits.recordPasswordFailure(key, now)
      return false
    }
    // The account may have locked while this check ran: a lock wins over a late right answer.
    const lockedMeanwhile = await limits.lockedFor(key, now)
    if (lockedMeanwhile > 0) throw TooManyConnectionsError(lockedMeanwhile)
    await limits.recordPasswordSuccess(key)
    cache.remember(fingerprint, { id: account.id, version: account.version, passwordHash: matched }, now)
    // Only the current hash is upgraded: the previous one is on its way out.
    if (matched === account.passwordHash && hasher.needsRehash(matched)) this.#upgradeHash(account, password)
    return { via: 'check', passwordHash: matched }
  }

  /** The first of `hashes` the password matches, checked one after the other. */
  async #firstMatch(hashes: readonly string[], password: string): Promise<string | undefined> {
    for (const passwordHash of hashes) if (await this.#verify(passwordHash, password)) return passwordHash
    return undefined
  }

  /**
   * Runs one argon2id check after reserving it against the address's budget and, for an
   * account (`lockout`), against the account's; a reservation the check never used is given back.
   */
  async #reservedCheck<T>(budget: AddressBudget, lockout: string | undefined, check: () => Promise<T>, now: number): Promise<T> {
    const { limits } = this.#deps
    await budget.reserve()
    if (lockout !== undefined) {
      const wait = await limits.reservePasswordCheck(lockout, now)
      if (wait > 0) throw TooManyConnectionsError(wait)
    }
    try {
      return await check()
    } catch (error) {
      if (lockout !== undefined) await limits.releasePasswordCheck(lockout, now)
      throw error
    }
  }

  /** Step 4: the refusal the allow-list gives this caller, or undefined when it admits it (the admin API asks it on every request). */
  allowListRefusal(account: Account, clientIp: IpAddress | undefined): ContractError | undefined {
    if (account.allowedIps.length === 0) return NoAllowedIpError()
    if (!clientIp) return InvalidIpError()
    const ranges = account.allowedIps.map((text) => this.#cidr(text))
    return anyCidrContains(ranges, clientIp) ? undefined : IpNotAllowedError(formatIpAddress(clientIp))
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
 * One request's standing against its address's failure budget: refused at once while the
 * address is blocked; one unit reserved before an argon2id check; the unit kept when the
 * request fails (or one counted for a failure that needed no check), given back otherwise.
 */
class AddressBudget {
  #reserved = false

  constructor(
    readonly limits: Limits,
    /** undefined when the address is unreadable: nothing to count it under. */
    readonly key: string | undefined,
    readonly now: number,
  ) {}

  async admit(): Promise<void> {
    if (this.key === undefined) return
    const wait = await this.limits.ipBlockedFor(this.key, this.now)
    if (wait > 0) throw TooManyConnectionsError(wait)
  }

  async reserve(): Promise<void> {
    if (this.key === undefined || this.#reserved) return
    const wait = await this.limits.reserveIpCheck(this.key, this.now)
    if (wait > 0) throw TooManyConnectionsError(wait)
    this.#reserved = true
  }

  async failed(): Promise<void> {
    if (this.key !== undefined) await this.limits.recordIpFailure(this.key, this.now, this.#reserved)
    this.#reserved = false
  }

  async succeeded(): Promise<void> {
    await this.released()
  }

  async released(): Promise<void> {
    if (this.key !== undefined && this.#reserved) await this.limits.releaseIpCheck(this.key, this.now)
    this.#reserved = false
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
