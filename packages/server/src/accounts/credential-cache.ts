/**
 * A cache of verified credentials, the pattern Elasticsearch uses for its realms (issue 3 §1).
 *
 * After a successful argon2id check it remembers HMAC-SHA-256(processKey, account ‖ password)
 * together with the account's `version` and the stored hash it was checked against. A later
 * request with the same credentials hits only if the account row it just read still has both,
 * so any change to the account (password, status, allowed IPs, deletion) — made by this
 * process, the CLI, or another instance — evicts it on the very next request. The hash matters
 * because versions restart at 1: an account deleted and created again under the same id (with
 * a new password, so a new salted hash) must not accept the old password. Failed checks are never
 * cached. The key is random per process and never leaves memory, so the cache holds nothing
 * an attacker could brute-force offline.
 *
 * Bounded: least recently used out first; memory is flat whatever the load.
 */
import { createHmac, randomBytes } from 'node:crypto'
import { LruMap } from '@bizauth/verify/core'
import type { Account } from '../store/store.js'
import { acceptedPasswordHashes } from './passwords.js'

/**
 * What identifies the account state a credential was verified against. During a password
 * rotation an account accepts two hashes; each password's entry holds the one it matched, so
 * either is cached on its own, and the previous one's entry stops hitting at its instant, or at
 * once when an operator drops it (that bumps the version, on every instance).
 */
export type VerifiedAccountState = Pick<Account, 'id' | 'version' | 'passwordHash'> & Partial<Pick<Account, 'previousPassword'>>

interface Entry {
  accountId: string
  version: number
  passwordHash: string
  expiresAt: number
}

export class CredentialCache {
  readonly #key = randomBytes(32)
  readonly #entries: LruMap<string, Entry>
  readonly #inflight = new Map<string, Promise<unknown>>()
  /** Lookups of an enabled cache and how many hit: the admin overview's hit ratio. */
  readonly stats = { lookups: 0, hits: 0 }

  constructor(
    readonly ttlMs: number,
    readonly maxEntries: number,
  ) {
    this.#entries = new LruMap(maxEntries)
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cache key of a credential pair; NUL cannot occur in an account id, so pairs cannot collide. */
  fingerprint(accountId: string, password: string): string {
    return createHmac('sha256', this.#key).update(accountId).update('\0').update(password).digest('base64url')
  }

  /** Whether `fingerprint` was verified for this account at exactly this state and is still fresh. */
  hit(fingerprint: string, account: VerifiedAccountState, now: number): boolean {
    return this.matchedHash(fingerprint, account, now) !== undefined
  }

  /** The stored hash a fresh entry for `fingerprint` was verified against, if the account still accepts it. */
  matchedHash(fingerprint: string, account: VerifiedAccountState, now: number): string | undefined {
    if (this.ttlMs === 0) return undefined
    this.stats.lookups++
    const entry = this.#entries.get(fingerprint)
    if (!entry) return undefined
    if (
      entry.accountId !== account.id ||
      entry.version !== account.version ||
      !acceptedPasswordHashes(account, now).includes(entry.passwordHash) ||
      entry.expiresAt <= now
    ) {
      this.#entries.delete(fingerprint)
      return undefined
    }
    // get() refreshed recency, not expiry: the TTL bounds how long a password is trusted without a check.
    this.stats.hits++
    return entry.passwordHash
  }

  /** Remembers that `fingerprint` matched `account.passwordHash` (the current hash, or the previous one). */
  remember(fingerprint: string, account: Pick<Account, 'id' | 'version' | 'passwordHash'>, now: number): void {
    if (this.ttlMs === 0) return
    this.#entries.set(fingerprint, { accountId: account.id, version: account.version, passwordHash: account.passwordHash, expiresAt: now + this.ttlMs })
  }

  /**
   * Forgets every credential verified for `accountId`, when a store change announces that the
   * account changed (Store.onChange). Not what makes a change take effect (the version check on
   * each hit already does, on every instance): it drops entries that can only miss, and keeps a
   * changed password's fingerprint out of memory. A scan, keyed as the cache is by fingerprint:
   * account changes are rare next to lookups.
   */
  evictAccount(accountId: string): number {
    return this.#entries.deleteWhere((entry) => entry.accountId === accountId)
  }

  /** Forgets everything (a bulk import, or changes that may have been missed). */
  clear(): void {
    this.#entries.clear()
  }

  /**
   * Single-flight: concurrent checks of the same (fingerprint, stored hash) share one argon2id
   * run. Keyed by the stored hash too, so a check against an old hash is never reused for a new one.
   */
  singleFlight<T>(fingerprint: string, passwordHashes: string, check: () => Promise<T>): Promise<T> {
    const key = `${fingerprint}\0${passwordHashes}`
    const running = this.#inflight.get(key) as Promise<T> | undefined
    if (running) return running
    const started = check().finally(() => this.#inflight.delete(key))
    this.#inflight.set(key, started)
    return started
  }
}
