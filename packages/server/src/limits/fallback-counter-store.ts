/**
 * The shared counters with a way down (issue 9 §1, §4): while Redis answers, every instance
 * counts on it; while it does not, each instance counts in its own memory. Security degrades
 * to per-instance limits, never to no limits, and an honest request never fails because Redis
 * does: a call that errs or takes longer than --redis-timeout is answered by the memory store.
 *
 * One warn line when the instance falls back and one info line when Redis is back, never one
 * per request (an outage is one event, and a line per request would bury it). While down, calls
 * go straight to memory (no timeout paid per request) and a probe writes to Redis in the
 * background; the first write that succeeds makes the counters shared again, without a restart.
 *
 * What was counted in memory during the outage stays in that instance's memory and is not
 * carried over to Redis: it was a per-instance budget, and merging counts from several
 * instances after the fact could lock an account no single instance saw ten failures for.
 */
import { Redis } from 'ioredis'
import { DeadlineError, withDeadline } from '../deadline.js'
import { MemoryCounterStore, type CounterStore, type Trip, type Tripped, type WindowCount } from './counter-store.js'
import { RedisCounterStore, describeRedisUrl } from './redis-counter-store.js'

export interface FallbackLogger {
  warn(details: object, message: string): void
  info(details: object, message: string): void
}

export interface FallbackOptions {
  /** Longest a Redis call may take before memory answers it. */
  timeoutMs: number
  logger: FallbackLogger
  /** What the log says of Redis: host:port, never the URL (it may hold a password). */
  where: string
  /** How often Redis is probed while down. */
  probeIntervalMs?: number
  /** Whether Redis answered when the store was made; false starts down (and logs it). */
  initiallyUp?: boolean
  /** The client's last connection error (refused, unknown host, wrong password), for the log line. */
  lastConnectionError?: () => string | undefined
}

const DEFAULT_PROBE_INTERVAL_MS = 1000
/** What the probe writes (under the prefix), and how long it stays. */
const PROBE_KEY = 'probe:write'
const PROBE_TTL_MS = 10_000

export class FallbackCounterStore implements CounterStore {
  readonly #timeoutMs: number
  readonly #logger: FallbackLogger
  readonly #where: string
  readonly #probeIntervalMs: number
  readonly #lastConnectionError: () => string | undefined
  #up = true
  #probeTimer: NodeJS.Timeout | undefined
  #probing = false
  #closed = false

  constructor(
    readonly shared: RedisCounterStore,
    readonly local: MemoryCounterStore,
    options: FallbackOptions,
  ) {
    this.#timeoutMs = options.timeoutMs
    this.#logger = options.logger
    this.#where = options.where
    this.#probeIntervalMs = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS
    this.#lastConnectionError = options.lastConnectionError ?? (() => undefined)
    if (options.initiallyUp === false) this.#fellBack(new Error('no answer at start'))
  }

  /** Whether counting is shared (Redis answers) right now. */
  get up(): boolean {
    return this.#up
  }

  /**
   * The call on Redis within the timeout, else on memory. A Redis call that succeeds after its
   * deadline has still counted there (a reserved unit, say): that only ever makes the shared
   * budget stricter until its window ends, never looser.
   */
  async #either<T>(call: (store: CounterStore) => Promise<T>): Promise<T> {
    if (this.#up) {
      try {
        return await withDeadline(call(this.shared), this.#timeoutMs, 'a Redis call')
      } catch (error) {
        this.#fellBack(error)
      }
    }
    return call(this.local)
  }

  #fellBack(error: unknown): void {
    if (!this.#up || this.#closed) return
    this.#up = false
    // The error's class and message only: ioredis's never hold the URL or its password.
    const err = error as { name?: unknown; message?: unknown }
    const connection = this.#lastConnectionError()
    this.#logger.warn(
      { redis: this.#where, reason: `${String(err.name)}: ${String(err.message)}`, ...(connection === undefined ? {} : { connection }) },
      'Redis does not answer: counting in this instance\'s memory (limits per instance) until it does',
    )
    // A connection that lost a request would pair every later reply with the wrong call; a
    // fresh one cannot. (Commands still pending on it are failed by the disconnect.)
    if (error instanceof DeadlineError) this.shared.redis.disconnect(true)
    this.#probeTimer = setInterval(() => void this.#probe(), this.#probeIntervalMs)
    // The probe must not keep a stopping process alive.
    this.#probeTimer.unref()
  }

  async #probe(): Promise<void> {
    if (this.#probing) return
    this.#probing = true
    const redis = this.shared.redis
    try {
      // A write through a script rather than a PING: a Redis that answers PING but refuses
      // writes (out of memory under noeviction) is still down for counting.
      const now = Date.now()
      await withDeadline(this.shared.set(PROBE_KEY, now, PROBE_TTL_MS, now), this.#timeoutMs, 'a Redis probe')
      this.#recovered()
    } catch {
      // Connected but silent (its handshake or this probe lost on the way): start over on a new
      // connection. Otherwise ioredis is already reconnecting on its own schedule.
      if (redis.status === 'ready' || redis.status === 'connect') redis.disconnect(true)
    } finally {
      this.#probing = false
    }
  }

  #recovered(): void {
    if (this.#up || this.#closed) return
    clearInterval(this.#probeTimer)
    this.#probeTimer = undefined
    this.#up = true
    this.#logger.info({ redis: this.#where }, 'Redis answers again: counters are shared again')
  }

  increment(key: string, windowMs: number, now: number): Promise<number> {
    return this.#either((store) => store.increment(key, windowMs, now))
  }

  reserve(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return this.#either((store) => store.reserve(key, limit, windowMs, now))
  }

  release(key: string, now: number): Promise<void> {
    return this.#either((store) => store.release(key, now))
  }

  get(key: string, now: number): Promise<number> {
    return this.#either((store) => store.get(key, now))
  }

  set(key: string, value: number, ttlMs: number, now: number): Promise<void> {
    return this.#either((store) => store.set(key, value, ttlMs, now))
  }

  getMany(keys: readonly string[], now: number): Promise<number[]> {
    return this.#either((store) => store.getMany(keys, now))
  }

  delete(key: string): Promise<void> {
    return this.#either((store) => store.delete(key))
  }

  hit(key: string, windowMs: number, now: number): Promise<WindowCount> {
    return this.#either((store) => store.hit(key, windowMs, now))
  }

  trip(trip: Trip, now: number): Promise<Tripped | undefined> {
    return this.#either((store) => store.trip(trip, now))
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#probeTimer)
    await this.shared.close()
  }
}

export interface SharedCounterSettings {
  url: string
  keyPrefix: string
  timeoutMs: number
  logger: FallbackLogger
  probeIntervalMs?: number
  /** Longest the start waits for Redis; past it the instance starts on memory counters. */
  startWaitMs?: number
}

const DEFAULT_START_WAIT_MS = 2000
/** A TCP connect that takes longer is given up and retried (a dropped SYN would wait minutes). */
const CONNECT_TIMEOUT_MS = 1000
/** Reconnects back off to at most this. */
const MAX_RECONNECT_DELAY_MS = 2000

/**
 * A Redis client that fails fast while it cannot answer (no offline queue, no retry of a
 * request, no resending after a reconnect: memory has answered those calls already), and
 * reconnects by itself; wrapped as a FallbackCounterStore. Never throws because Redis is down:
 * the instance then starts on memory counters and logs it.
 */
export async function openSharedCounters(settings: SharedCounterSettings): Promise<FallbackCounterStore> {
  const redis = new Redis(settings.url, {
    commandTimeout: settings.timeoutMs,
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  })
  // The fallback logs the outage once, with the last of these; ioredis would otherwise print
  // every failed reconnect.
  let lastConnectionError: string | undefined
  redis.on('error', (error: Error) => {
    lastConnectionError = error.message
  })
  redis.on('ready', () => {
    lastConnectionError = undefined
  })
  const initiallyUp = await readyWithin(redis, settings.startWaitMs ?? DEFAULT_START_WAIT_MS)
  const shared = new RedisCounterStore(redis, { keyPrefix: settings.keyPrefix })
  return new FallbackCounterStore(shared, new MemoryCounterStore(), {
    timeoutMs: settings.timeoutMs,
    logger: settings.logger,
    where: describeRedisUrl(settings.url),
    initiallyUp,
    lastConnectionError: () => lastConnectionError,
    ...(settings.probeIntervalMs === undefined ? {} : { probeIntervalMs: settings.probeIntervalMs }),
  })
}

function readyWithin(redis: Redis, milliseconds: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady)
      resolve(false)
    }, milliseconds)
    const onReady = (): void => {
      clearTimeout(timer)
      resolve(true)
    }
    redis.once('ready', onReady)
  })
}
