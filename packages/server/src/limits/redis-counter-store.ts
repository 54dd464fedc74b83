/**
 * The counters on Redis (issue 9 §1), so every instance counts against the same budgets: ten
 * wrong passwords spread over three instances lock the account as ten on one would.
 *
 * Each operation is ONE Lua script (or one command): Redis runs a script to its end before any
 * other command, so a read and the write that depends on it can never interleave with another
 * instance's. Nothing here reads from Node and writes back.
 *
 * An entry is a hash {v: value, e: the caller's epoch ms at which it ends}. Expiry is judged against the caller's `now` and the stored `e`, exactly as in
 * MemoryCounterStore, so both stores behave alike under a test's explicit clock (and instances
 * share one notion of time as long as their clocks agree, as the tokens' `exp` already needs).
 * Every write also sets a Redis TTL of the entry's remaining life (plus a short grace), so keys
 * of a flood (100k distinct addresses) vanish by themselves and Redis memory stays bounded.
 */
import { Redis } from 'ioredis'
import type { CounterStore, Trip, Tripped, WindowCount } from './counter-store.js'

/**
 * Redis keeps an entry this much longer than its remaining life. The entry's end is judged by
 * `e` and the caller's clock; the TTL only bounds memory. The grace lets an instance whose clock
 * runs a little behind the writer's still see the entry until its own clock says it ended.
 */
const TTL_GRACE_MS = 2000

/** Helpers shared by every script: read a live entry (deleting an expired one), write one with its TTL. */
const PRELUDE = `
local TTL_GRACE_MS = ${TTL_GRACE_MS}
local function live(key, now)
  local entry = redis.call('HMGET', key, 'v', 'e')
  local endsAt = tonumber(entry[2])
  if endsAt == nil then return nil end
  if endsAt <= now then
    redis.call('DEL', key)
    return nil
  end
  return tonumber(entry[1]), endsAt
end
local function write(key, value, endsAt, now)
  redis.call('HSET', key, 'v', value, 'e', endsAt)
  redis.call('PEXPIRE', key, math.ceil(endsAt - now) + TTL_GRACE_MS)
end
-- Numbers go back to Node as text: a Lua number returned as such is truncated to an integer.
local function text(number)
  return string.format('%.17g', number)
end
`

/** The scripts, each KEYS then ARGV as its comment says; all times in the caller's epoch ms. */
const SCRIPTS = {
  // KEYS: key; ARGV: limit, windowMs, now -> 1 when taken, 0 when the limit is reached
  counterReserve: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[3])
local value, endsAt = live(KEYS[1], now)
value = value or 0
if value >= tonumber(ARGV[1]) then return 0 end
write(KEYS[1], value + 1, endsAt or now + tonumber(ARGV[2]), now)
return 1`,
  },
  // KEYS: key; ARGV: now
  counterRelease: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[1])
local value, endsAt = live(KEYS[1], now)
if value == nil then return 0 end
if value <= 1 then
  redis.call('DEL', KEYS[1])
else
  write(KEYS[1], value - 1, endsAt, now)
end
return 1`,
  },
  // KEYS: keys; ARGV: now -> their values, 0 where absent or ended
  counterGetMany: {
    numberOfKeys: undefined,
    lua: `
local now = tonumber(ARGV[1])
local values = {}
for index, key in ipairs(KEYS) do values[index] = text(live(key, now) or 0) end
return values`,
  },
  // KEYS: key; ARGV: value, ttlMs, now
  counterSet: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[3])
write(KEYS[1], tonumber(ARGV[1]), now + tonumber(ARGV[2]), now)
return 1`,
  },
  // KEYS: key; ARGV: windowMs, now -> {count, resetAt}
  counterHit: {
    numberOfKeys: 1,
    lua: `
local now = tonumber(ARGV[2])
local value, endsAt = live(KEYS[1], now)
local count = (value or 0) + 1
local resetAt = endsAt or now + tonumber(ARGV[1])
write(KEYS[1], count, resetAt, now)
return {text(count), text(resetAt)}`,
  },
  // KEYS: countKey, flagKey, levelKey (ignored unless ARGV[2] is 1);
  // ARGV: threshold, hasLevel, levelTtlMs, baseMs, maxMs, now -> {level, durationMs}, or nil
  counterTrip: {
    numberOfKeys: 3,
    lua: `
local now = tonumber(ARGV[6])
local count = live(KEYS[1], now)
if (count or 0) < tonumber(ARGV[1]) then return nil end
if live(KEYS[2], now) ~= nil then return nil end
local level = 1
if ARGV[2] == '1' then
  level = (live(KEYS[3], now) or 0) + 1
  write(KEYS[3], level, now + tonumber(ARGV[3]), now)
end
-- tripDurationMs of counter-store.ts
local durationMs = math.min(tonumber(ARGV[5]), tonumber(ARGV[4]) * 2 ^ math.min(level - 1, 30))
write(KEYS[2], now + durationMs, now + durationMs, now)
redis.call('DEL', KEYS[1])
return {text(level), text(durationMs)}`,
  },
} as const

type ScriptName = keyof typeof SCRIPTS
type ScriptArgument = string | number
/** The client with the scripts defined on it (ioredis adds one method per defineCommand). */
type ScriptedRedis = Redis & { [name in ScriptName]: (...args: ScriptArgument[]) => Promise<unknown> }

export interface RedisCounterStoreOptions {
  /** Put before every key, so several deployments (or test suites) can share one Redis. */
  keyPrefix: string
}

export class RedisCounterStore implements CounterStore {
  readonly #redis: ScriptedRedis
  readonly #prefix: string

  /** Takes `redis` over: close() quits it. */
  constructor(redis: Redis, options: RedisCounterStoreOptions) {
    // defineCommand sends EVALSHA and, once per connection that lacks the script, EVAL.
    // A script without numberOfKeys takes the count of its keys as its first argument.
    for (const [name, script] of Object.entries(SCRIPTS)) redis.defineCommand(name, { ...(script.numberOfKeys === undefined ? {} : { numberOfKeys: script.numberOfKeys }), lua: PRELUDE + script.lua })
    this.#redis = redis as ScriptedRedis
    this.#prefix = options.keyPrefix
  }

  get redis(): Redis {
    return this.#redis
  }

  #key(key: string): string {
    return this.#prefix + key
  }

  async increment(key: string, windowMs: number, now: number): Promise<number> {
    return (await this.hit(key, windowMs, now)).count
  }

  async reserve(key: string, limit: number, windowMs: number, now: number): Promise<boolean> {
    return (await this.#redis.counterReserve(this.#key(key), limit, windowMs, now)) === 1
  }

  async release(key: string, now: number): Promise<void> {
    await this.#redis.counterRelease(this.#key(key), now)
  }

  async getMany(keys: readonly string[], now: number): Promise<number[]> {
    if (keys.length === 0) return []
    const values = (await this.#redis.counterGetMany(keys.length, ...keys.map((key) => this.#key(key)), now)) as string[]
    return values.map(Number)
  }

  async get(key: string, now: number): Promise<number> {
    return (await this.getMany([key], now))[0]!
  }

  async set(key: string, value: number, ttlMs: number, now: number): Promise<void> {
    await this.#redis.counterSet(this.#key(key), value, ttlMs, now)
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#key(key))
  }

  async hit(key: string, windowMs: number, now: number): Promise<WindowCount> {
    const [count, resetAt] = (await this.#redis.counterHit(this.#key(key), windowMs, now)) as [string, string]
    return { count: Number(count), resetAt: Number(resetAt) }
  }

  async trip(trip: Trip, now: number): Promise<Tripped | undefined> {
    const { countKey, flagKey, levelKey, threshold, levelTtlMs, baseMs, maxMs } = trip
    const keys = [this.#key(countKey), this.#key(flagKey), this.#key(levelKey ?? countKey)]
    const tripped = (await this.#redis.counterTrip(...keys, threshold, levelKey === undefined ? 0 : 1, levelTtlMs, baseMs, maxMs, now)) as [string, string] | null
    return tripped === null ? undefined : { level: Number(tripped[0]), durationMs: Number(tripped[1]) }
  }

  async close(): Promise<void> {
    try {
      await this.#redis.quit()
    } catch {
      // Already disconnected (Redis down at the stop): nothing is left to flush.
      this.#redis.disconnect()
    }
  }
}

/** `host:port` of a Redis URL: what logs may say of it (never its password). */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url)
  return `${parsed.hostname}:${parsed.port || '6379'}`
}
