/**
 * The one small interface every limit counts through (issue 3 §3). In memory here; a
 * shared implementation (Redis) lets instances share counters without touching the limiters.
 *
 * All times are epoch milliseconds supplied by the caller, so tests drive the clock.
 */
export interface CounterStore {
  /** Adds 1 to `key`, starting a window of `windowMs` on the first increment; returns the new count (`hit`'s count). */
  increment(key: string, windowMs: number, now: number): Promise<number>
  /**
   * Adds 1 to `key` only while its count is below `limit` (starting a window of `windowMs` on the
   * first), in one atomic step; returns whether it did. Two callers can never both take the last unit.
   */
  reserve(key: string, limit: number, windowMs: number, now: number): Promise<boolean>
  /** Takes 1 back from a count (never below 0), keeping its window. */
  release(key: string, now: number): Promise<void>
  /** Reads a value written by `set` (or a count); 0 when absent or expired. */
  get(key: string, now: number): Promise<number>
  /** `get` of several keys in one step (one round trip to a shared store): the warm path reads a lock and a count together. */
  getMany(keys: readonly string[], now: number): Promise<number[]>
  /** Writes `value`, forgotten after `ttlMs`. */
  set(key: string, value: number, ttlMs: number, now: number): Promise<void>
  delete(key: string): Promise<void>
  /**
   * Fixed window: adds 1 to `key` (starting a window of `windowMs` on the first hit) and returns
   * the new count with the epoch milliseconds at which the window ends.
   */
  hit(key: string, windowMs: number, now: number): Promise<WindowCount>
  /**
   * One atomic step, so that of all callers (of all instances sharing the store) exactly one is
   * told it tripped: when the count under `countKey` has reached `threshold` and `flagKey` is not
   * set, it moves the level under `levelKey` on (when given), sets `flagKey` to the epoch
   * milliseconds it ends at, for min(maxMs, baseMs * 2^(level - 1)), and deletes the count.
   * Returns the level and duration to that one caller; undefined to every other.
   */
  trip(trip: Trip, now: number): Promise<Tripped | undefined>
  close?(): Promise<void>
}

export interface WindowCount {
  count: number
  resetAt: number
}

export interface Trip {
  countKey: string
  threshold: number
  flagKey: string
  /** Without it the level is always 1 (a fixed duration of baseMs). */
  levelKey?: string
  /** How long the level is remembered after this trip. */
  levelTtlMs: number
  baseMs: number
  maxMs: number
}

export interface Tripped {
  level: number
  durationMs: number
}

/** The duration a trip at `level` sets (shared with the Redis script's arithmetic). */
export function tripDurationMs(trip: Pick<Trip, 'baseMs' | 'maxMs'>, level: number): number {
  return Math.min(trip.maxMs, trip.baseMs * 2 ** Math.min(level - 1, 30))
}

interface Entry {
  value: number
  expiresAt: number
}

/**
 * Bounded: past `maxEntries` in all, an entry is dropped, least recently written first. Dropping
 * a counter early only ever forgives, never wrongly blocks; so what is dropped is taken from the
 * kind of counter being written (the text before the first `:`, e.g. `ipfail`), never from
 * another kind while this one has older entries. A flood of distinct client addresses therefore
 * forgets only other addresses' counters, not an account's lockout, which an attacker with many
 * addresses (an IPv6 /64) could otherwise wipe to keep guessing its password.
 */
export class MemoryCounterStore implements CounterStore {
  /** kind -> key -> entry; each Map in least-recently-written order. */
  readonly #kinds = new Map<string, Map<string, Entry>>()
  #size = 0

  constructor(readonly maxEntries = 100_000) {}

  get size(): number {
    return this.#size
  }

  #kindOf(key: string): Map<string, Entry> | undefined {
    return this.#kinds.get(kindOf(key))
  }

  #live(key: string, now: number): Entry | undefined {
    const entries = this.#kindOf(key)
    const entry = entries?.get(key)
    if (entry && entry.expiresAt <= now) {
      entries!.delete(key)
      this.#size--
      return undefined
    }
    return entry
  }

  #write(key: string, entry: Entry): void {
    const kind = kindOf(key)
    let entries = this.#kinds.get(kind)
    if (!entries) {
      entries = new Map()
      this.#kinds.set(kind, entries)
    }
    if (entries.delete(key)) this.#size--
    entries.set(key, entry)
    this.#size++
    if (this.#size > this.maxEntries) this.#evictOne(entries)
  }

  /** The oldest entry of the kind just written, or, if it is alone there, of the largest kind. */
  #evictOne(written: Map<string, Entry>): void {
    let victims = written
    if (victims.size <= 1) {
      for (const entries of this.#kinds.values()) if (entries.size > victims.size) victims = entries
    }
    const oldest = victims.keys().next().value
    if (oldest !== undefined && victims.delete(oldest)) this.#size--
  }

  async increment(key: string, windowMs: number, now: number): Promise<number> {
    return (await this.hit(key, windowMs, now)).count
  }

  async reserve(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    const entry = this.#live(key, now)
    const value = entry?.value ?? 0
    if (value >= limit) return false
    this.#write(key, { value: value + 1, expiresAt: entry?.expiresAt ?? now + windowMs })
    return true
  }

  async release(key: string, now: number): Promise<void> {
    const entry = this.#live(key, now)
    if (!entry) return
    if (entry.value <= 1) await this.delete(key)
    else this.#write(key, { ...entry, value: entry.value - 1 })
  }

  async get(key: string, now: number): Promise<number> {
    return this.#live(key, now)?.value ?? 0
  }

  async getMany(keys: readonly string[], now: number): Promise<number[]> {
    return keys.map((key) => this.#live(key, now)?.value ?? 0)
  }

  async set(key: string, value: number, ttlMs: number, now: number): Promise<void> {
    this.#write(key, { value, expiresAt: now + ttlMs })
  }

  async delete(key: string): Promise<void> {
    if (this.#kindOf(key)?.delete(key)) this.#size--
  }

  async hit(key: string, windowMs: number, now: number): Promise<WindowCount> {
    const entry = this.#live(key, now)
    const count = (entry?.value ?? 0) + 1
    const resetAt = entry?.expiresAt ?? now + windowMs
    this.#write(key, { value: count, expiresAt: resetAt })
    return { count, resetAt }
  }

  // Nothing awaits between the reads and the writes, so on one event loop this is one step.
  async trip(trip: Trip, now: number): Promise<Tripped | undefined> {
    if ((this.#live(trip.countKey, now)?.value ?? 0) < trip.threshold) return undefined
    if (this.#live(trip.flagKey, now)) return undefined
    let level = 1
    if (trip.levelKey) {
      level = (this.#live(trip.levelKey, now)?.value ?? 0) + 1
      this.#write(trip.levelKey, { value: level, expiresAt: now + trip.levelTtlMs })
    }
    const durationMs = tripDurationMs(trip, level)
    this.#write(trip.flagKey, { value: now + durationMs, expiresAt: now + durationMs })
    const counts = this.#kindOf(trip.countKey)
    if (counts?.delete(trip.countKey)) this.#size--
    return { level, durationMs }
  }
}

function kindOf(key: string): string {
  const colon = key.indexOf(':')
  return colon < 0 ? '' : key.slice(0, colon)
}
