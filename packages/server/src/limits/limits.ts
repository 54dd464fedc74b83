/**
 * Lockout and limits (issue 3 §3), all answered as 400/3008 with Retry-After:
 * - per account: after N consecutive wrong passwords the account locks; each repeat doubles
 *   the lock up to a maximum; a success resets the count;
 * - per client IP: N failures of any kind within a window block the IP for a while;
 * - per account issuance: a token bucket (0 = off).
 */
import type { ServerConfig } from '../config.js'
import type { CounterStore } from './counter-store.js'

export type LimitSettings = Pick<
  ServerConfig,
  'lockoutThreshold' | 'lockoutBaseSeconds' | 'lockoutMaxSeconds' | 'ipFailureLimit' | 'ipFailureWindowSeconds' | 'ipBlockSeconds' | 'issuanceRatePerMinute'
>

/** Lock levels and failure counts are forgotten after a day without failures. */
const MEMORY_MS = 24 * 3600 * 1000

export class Limits {
  constructor(
    readonly counters: CounterStore,
    readonly settings: LimitSettings,
  ) {}

  /** Seconds the IP must wait, or 0. */
  async ipBlockedFor(ip: string, now: number): Promise<number> {
    if (this.settings.ipFailureLimit === 0) return 0
    return secondsUntil(await this.counters.get(`ipblock:${ip}`, now), now)
  }

  async recordIpFailure(ip: string, now: number): Promise<void> {
    const { ipFailureLimit, ipFailureWindowSeconds, ipBlockSeconds } = this.settings
    if (ipFailureLimit === 0) return
    const failures = await this.counters.increment(`ipfail:${ip}`, ipFailureWindowSeconds * 1000, now)
    if (failures >= ipFailureLimit) {
      await this.counters.set(`ipblock:${ip}`, now + ipBlockSeconds * 1000, ipBlockSeconds * 1000, now)
      await this.counters.delete(`ipfail:${ip}`)
    }
  }

  /** Seconds the account stays locked, or 0. */
  async accountLockedFor(account: string, now: number): Promise<number> {
    if (this.settings.lockoutThreshold === 0) return 0
    return secondsUntil(await this.counters.get(`lock:${account}`, now), now)
  }

  async recordPasswordFailure(account: string, now: number): Promise<void> {
    const { lockoutThreshold, lockoutBaseSeconds, lockoutMaxSeconds } = this.settings
    if (lockoutThreshold === 0) return
    const failures = await this.counters.increment(`fail:${account}`, MEMORY_MS, now)
    if (failures < lockoutThreshold) return
    const level = await this.counters.increment(`level:${account}`, MEMORY_MS, now)
    const seconds = Math.min(lockoutMaxSeconds, lockoutBaseSeconds * 2 ** Math.min(level - 1, 30))
    await this.counters.set(`lock:${account}`, now + seconds * 1000, seconds * 1000, now)
    await this.counters.delete(`fail:${account}`)
  }

  async recordPasswordSuccess(account: string): Promise<void> {
    if (this.settings.lockoutThreshold === 0) return
    await this.counters.delete(`fail:${account}`)
  }

  /** Takes one issuance token; returns 0, or the seconds until one is available. */
  async takeIssuance(account: string, now: number): Promise<number> {
    const perMinute = this.settings.issuanceRatePerMinute
    if (perMinute === 0) return 0
    const waitMs = await this.counters.take(`bucket:${account}`, perMinute, perMinute / 60, now)
    return waitMs === 0 ? 0 : Math.max(1, Math.ceil(waitMs / 1000))
  }
}

function secondsUntil(untilMs: number, now: number): number {
  return untilMs > now ? Math.max(1, Math.ceil((untilMs - now) / 1000)) : 0
}
