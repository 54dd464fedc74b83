/**
 * The one small interface every limit counts through (issue 3 §3). In memory here; a
 * shared implementation (Redis) lets instances share counters without touching the limiters.
 *
 * All times are epoch milliseconds supplied by the caller, so tests drive the clock.
 */
export interface CounterStore {
  /** Adds 1 to `key`, starting a window of `windowMs` on the first increment; returns the new count. */
  increment(key: string, windowMs: number, now: number): Promise<number>
  /** Reads a value written by `set` (or a count); 0 when absent or expired. */
  get(key: string, now: number): Promise<number>
  /** Writes `value`, forgotten after `ttlMs`. */
  set(key: string, value: number, ttlMs: number, now: number): Promise<void>
  delete(key: string): Promise<void>
  /**
   * Token bucket of `capacity` refilled at `refillPerSecond`: takes one token and returns 0,
   * or returns the milliseconds until one is available (taking nothing).
   */
  take(key: string, capacity: number, refillPerSecond: number, now: number): Promise<number>
  close?(): Promise<void>
}

interface Entry {
  value: number
  /** For buckets: when `value` was last refilled. */
  stamp: number
  expiresAt: number
}

/**
 * Bounded: past `maxEntries` the least recently written entries go first, so memory stays
 * flat under a flood of distinct IPs or account names. Dropping a counter early only ever
 * forgives, never wrongly blocks.
 */
export class MemoryCounterStore implements CounterStore {
  readonly #entries = new Map<string, Entry>()

  constructor(readonly maxEntries = 100_000) {}

  get size(): number {
    return this.#entries.size
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key)
    if (entry && entry.expiresAt <= now) {
      this.#entries.delete(key)
      return undefined
    }
    return entry
  }

  #write(key: string, entry: Entry): void {
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  async increment(key: string, windowMs: number, now: number): Promise<number> {
    const entry = this.#live(key, now)
    const value = (entry?.value ?? 0) + 1
    this.#write(key, { value, stamp: now, expiresAt: entry?.expiresAt ?? now + windowMs })
    return value
  }

  async get(key: string, now: number): Promise<number> {
    return this.#live(key, now)?.value ?? 0
  }

  async set(key: string, value: number, ttlMs: number, now: number): Promise<void> {
    this.#write(key, { value, stamp: now, expiresAt: now + ttlMs })
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key)
  }

  async take(key: string, capacity: number, refillPerSecond: number, now: number): Promise<number> {
    const entry = this.#live(key, now)
    const elapsed = entry ? Math.max(0, now - entry.stamp) : 0
    const tokens = entry ? Math.min(capacity, entry.value + (elapsed * refillPerSecond) / 1000) : capacity
    // An idle bucket refills completely in capacity/refill seconds; after that it is forgettable.
    const ttl = Math.ceil((capacity / refillPerSecond) * 1000)
    if (tokens >= 1) {
      this.#write(key, { value: tokens - 1, stamp: now, expiresAt: now + ttl })
      return 0
    }
    this.#write(key, { value: tokens, stamp: now, expiresAt: now + ttl })
    return Math.ceil(((1 - tokens) / refillPerSecond) * 1000)
  }
}
