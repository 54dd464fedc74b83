/**
 * Lockout and limits (issue 3 §3):
 * - per account: after N consecutive wrong passwords the account locks; each repeat doubles
 *   the lock up to a maximum; a success resets the count (400/3008 with Retry-After);
 * - per client IP: N failures of any kind within a window block the IP for a while (400/3008);
 * - per account request rate: N requests per fixed window (contract.md §6: 429/5002, 0 = off).
 *
 * Checks that cost an argon2id run are counted BEFORE they run (issue 13 §2; Keycloak's
 * CVE-2024-4629 was the same race): a check in flight holds one unit of the budget as if it had
 * failed, and gives it back only when it succeeds. A burst of concurrent guesses therefore gets
 * at most `lockoutThreshold` checks per account and `ipFailureLimit` per address, however many
 * arrive at once; the rest are refused without hashing. Each reservation is one atomic counter
 * step, so the bound holds as well when the counters are shared between instances.
 */
import type { ServerConfig } from '../config.js'
import type { CounterStore } from './counter-store.js'

export type LimitSettings = Pick<
  ServerConfig,
  'lockoutThreshold' | 'lockoutBaseSeconds' | 'lockoutMaxSeconds' | 'ipFailureLimit' | 'ipFailureWindowSeconds' | 'ipBlockSeconds' | 'rateLimit' | 'rateLimitWindowSeconds'
>

/** Lock levels and failure counts are forgotten after a day without failures. */
const MEMORY_MS = 24 * 3600 * 1000
/** What a caller refused because the budget is held by checks in flight is told to wait. */
const IN_FLIGHT_WAIT_SECONDS = 1

/**
 * What the account lockout counts under: the id, and the account's lockout generation, which
 * `bizauth account unlock` (and an operator's password change) moves on. A new generation is a
 * fresh count on every instance, with nothing to reach into; the old keys expire by themselves.
 */
export function lockoutKey(accountId: string, lockoutGeneration: number): string {
  return lockoutGeneration === 0 ? accountId : `${accountId}#${lockoutGeneration}`
}

/** The account a lockout key counts for (lockoutKey's inverse: account ids never hold '#'). */
export function accountIdOfLockoutKey(key: string): string {
  const mark = key.indexOf('#')
  return mark < 0 ? key : key.slice(0, mark)
}

/**
 * Told once per episode (issue 11 §1: an audit event and a metric, never one per request), by
 * the one caller whose failure trips the lock or the block. With counters shared between
 * instances, that caller is one caller of all instances as long as the trip is one atomic step
 * of the counter store, so the episode is still told once.
 */
export interface EpisodeListener {
  lockout(episode: { accountId: string; level: number; seconds: number }): Promise<void>
  ipBlock(episode: { address: string; seconds: number }): Promise<void>
}

/** Where an account stands in its rate-limit window after one more request (contract.md §6). */
export interface RateWindow {
  limit: number
  /** Requests left in this window; 0 once the limit is reached or passed. */
  remaining: number
  /** Milliseconds until the window renews (always > 0). */
  resetInMs: number
  /** This request was over the limit: it must be refused. */
  exceeded: boolean
}

export class Limits {
  constructor(
    readonly counters: CounterStore,
    readonly settings: LimitSettings,
    readonly episodes?: EpisodeListener,
  ) {}

  // --- per client IP ------------------------------------------------------------------------

  /** Seconds the IP must wait, or 0. */
  async ipBlockedFor(ip: string, now: number): Promise<number> {
    if (this.settings.ipFailureLimit === 0) return 0
    return secondsUntil(await this.counters.get(`ipblock:${ip}`, now), now)
  }

  /** Holds one unit of the IP's failure budget for a check about to run; 0, or seconds to wait. */
  async reserveIpCheck(ip: string, now: number): Promise<number> {
    const { ipFailureLimit, ipFailureWindowSeconds } = this.settings
    if (ipFailureLimit === 0) return 0
    return (await this.counters.reserve(`ipfail:${ip}`, ipFailureLimit, ipFailureWindowSeconds * 1000, now)) ? 0 : IN_FLIGHT_WAIT_SECONDS
  }

  /** A reserved check succeeded, or never ran: its unit goes back. */
  async releaseIpCheck(ip: string, now: number): Promise<void> {
    if (this.settings.ipFailureLimit === 0) return
    await this.counters.release(`ipfail:${ip}`, now)
  }

  /** A failure; `reserved` when it is a check that already holds its unit. The last unit blocks the IP. */
  async recordIpFailure(ip: string, now: number, reserved = false): Promise<void> {
    const { ipFailureLimit, ipFailureWindowSeconds, ipBlockSeconds } = this.settings
    if (ipFailureLimit === 0) return
    const key = `ipfail:${ip}`
    const failures = reserved ? await this.counters.get(key, now) : await this.counters.increment(key, ipFailureWindowSeconds * 1000, now)
    if (failures < ipFailureLimit) return
    const blockMs = ipBlockSeconds * 1000
    const tripped = await this.counters.trip({ countKey: key, threshold: ipFailureLimit, flagKey: `ipblock:${ip}`, levelTtlMs: blockMs, baseMs: blockMs, maxMs: blockMs }, now)
    if (tripped) await this.episodes?.ipBlock({ address: ip, seconds: ipBlockSeconds })
  }

  // --- per account (keys from lockoutKey) -----------------------------------------------------

  /**
   * `wait`: seconds the account stays locked, or 0; also a second while checks in flight hold the
   * whole budget (one of them may be the failure that locks it). `failures`: the count read with
   * it, in one step of the counter store, so recordPasswordSuccess need not reset what is not there.
   */
  async accountStanding(key: string, now: number): Promise<{ wait: number; failures: number }> {
    const { lockoutThreshold } = this.settings
    if (lockoutThreshold === 0) return { wait: 0, failures: 0 }
    const [lockedUntil, failures] = await this.counters.getMany([`lock:${key}`, `fail:${key}`], now)
    const locked = secondsUntil(lockedUntil!, now)
    if (locked > 0) return { wait: locked, failures: failures! }
    return { wait: failures! >= lockoutThreshold ? IN_FLIGHT_WAIT_SECONDS : 0, failures: failures! }
  }

  /** Seconds the account's lock lasts, or 0; unlike accountStanding's wait, checks in flight do not count. */
  async lockedFor(key: string, now: number): Promise<number> {
    if (this.settings.lockoutThreshold === 0) return 0
    return secondsUntil(await this.counters.get(`lock:${key}`, now), now)
  }

  /** Holds one unit of the account's budget for a password check about to run; 0, or seconds to wait. */
  async reservePasswordCheck(key: string, now: number): Promise<number> {
    const { lockoutThreshold } = this.settings
    if (lockoutThreshold === 0) return 0
    return (await this.counters.reserve(`fail:${key}`, lockoutThreshold, MEMORY_MS, now)) ? 0 : IN_FLIGHT_WAIT_SECONDS
  }

  /** A reserved check that never ran (the hash queue was full, the store failed): its unit goes back. */
  async releasePasswordCheck(key: string, now: number): Promise<void> {
    if (this.settings.lockoutThreshold === 0) return
    await this.counters.release(`fail:${key}`, now)
  }

  /** A wrong password: its unit stays spent. When the budget is spent, the account locks. */
  async recordPasswordFailure(key: string, now: number): Promise<void> {
    const { lockoutThreshold, lockoutBaseSeconds, lockoutMaxSeconds } = this.settings
    if (lockoutThreshold === 0) return
    if ((await this.counters.get(`fail:${key}`, now)) < lockoutThreshold) return
    const tripped = await this.counters.trip(
      { countKey: `fail:${key}`, threshold: lockoutThreshold, flagKey: `lock:${key}`, levelKey: `level:${key}`, levelTtlMs: MEMORY_MS, baseMs: lockoutBaseSeconds * 1000, maxMs: lockoutMaxSeconds * 1000 },
      now,
    )
    if (tripped) await this.episodes?.lockout({ accountId: accountIdOfLockoutKey(key), level: tripped.level, seconds: Math.round(tripped.durationMs / 1000) })
  }

  /**
   * A right password resets the count (checks still in flight then count no more). `failuresSeen`:
   * the count accountStanding read for this request; when it was 0 there is nothing to reset
   * (a failure landing in between is ordered after this success), which saves the warm path a
   * round trip to a shared store.
   */
  async recordPasswordSuccess(key: string, failuresSeen?: number): Promise<void> {
    if (this.settings.lockoutThreshold === 0 || failuresSeen === 0) return
    await this.counters.delete(`fail:${key}`)
  }

  // --- request rate ----------------------------------------------------------------------------

  /**
   * Counts one request of the account (token issuance, a holder revoking its own token, an admin
   * call) in a fixed window (contract.md §6); undefined when the limit is off. A fixed window, not
   * a bucket, because it is what the real service describes (a limit, what remains, when it
   * resets) and one atomic `hit` of the counter store, so instances sharing it count together.
   * Refused requests are counted too: in a fixed window that never pushes the reset back, so a
   * client retrying in a loop is refused until the window renews, and no longer.
   */
  async countRequest(accountId: string, now: number): Promise<RateWindow | undefined> {
    const { rateLimit, rateLimitWindowSeconds } = this.settings
    if (rateLimit === 0) return undefined
    const { count, resetAt } = await this.counters.hit(`rate:${accountId}`, rateLimitWindowSeconds * 1000, now)
    return { limit: rateLimit, remaining: Math.max(0, rateLimit - count), resetInMs: Math.max(1, resetAt - now), exceeded: count > rateLimit }
  }
}

function secondsUntil(untilMs: number, now: number): number {
  return untilMs > now ? Math.max(1, Math.ceil((untilMs - now) / 1000)) : 0
}
