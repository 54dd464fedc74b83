/**
 * The counters on Redis (issue 9 §1): one table of cases, run against MemoryCounterStore and
 * RedisCounterStore alike, on an explicit clock, so the shared store behaves as the one in
 * memory does; then what only a shared store has to prove: two clients (two "instances")
 * racing on one budget take exactly the budget, a trip is told once, and every key it writes
 * expires by itself. Counted, never timed.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { Redis } from 'ioredis'
import { MemoryCounterStore, type CounterStore, type Trip } from '../src/limits/counter-store.js'
import { Limits, type LimitSettings } from '../src/limits/limits.js'
import { RedisCounterStore, describeRedisUrl } from '../src/limits/redis-counter-store.js'
import { redisSkipReason, testKeyPrefix, testRedisClient, type TestKeyPrefix } from './helpers/redis.js'

const T0 = 1_764_600_000_000

interface Case {
  name: string
  run(store: CounterStore): Promise<void>
}

const lockTrip = (overrides: Partial<Trip> = {}): Trip => ({ countKey: 'fail:a', threshold: 3, flagKey: 'lock:a', levelKey: 'level:a', levelTtlMs: 86_400_000, baseMs: 1000, maxMs: 3000, ...overrides })

/** Each case on a store of its own (a fresh prefix on Redis), with literal expectations. */
const CASES: Case[] = [
  {
    name: 'increment counts within the window and starts again after it',
    async run(store) {
      assert.deepEqual([await store.increment('fail:a', 1000, T0), await store.increment('fail:a', 1000, T0 + 1), await store.increment('fail:a', 1000, T0 + 999)], [1, 2, 3])
      assert.equal(await store.get('fail:a', T0 + 999), 3)
      assert.equal(await store.get('fail:a', T0 + 1000), 0, 'the window started at the first increment')
      assert.equal(await store.increment('fail:a', 1000, T0 + 1000), 1)
    },
  },
  {
    name: 'reserve takes up to the limit and refuses the rest; release gives one back, never below 0',
    async run(store) {
      const taken = []
      for (let i = 0; i < 4; i++) taken.push(await store.reserve('ipfail:x', 3, 1000, T0))
      assert.deepEqual(taken, [true, true, true, false])
      await store.release('ipfail:x', T0 + 10)
      assert.equal(await store.get('ipfail:x', T0 + 10), 2)
      assert.equal(await store.reserve('ipfail:x', 3, 1000, T0 + 10), true)
      for (let i = 0; i < 5; i++) await store.release('ipfail:x', T0 + 20)
      assert.equal(await store.get('ipfail:x', T0 + 20), 0)
      await store.release('ipfail:never', T0)
      assert.equal(await store.get('ipfail:never', T0), 0)
    },
  },
  {
    name: 'release keeps the window of the count',
    async run(store) {
      await store.increment('fail:w', 1000, T0)
      await store.increment('fail:w', 1000, T0)
      await store.release('fail:w', T0 + 500)
      assert.equal(await store.get('fail:w', T0 + 999), 1)
      assert.equal(await store.get('fail:w', T0 + 1000), 0)
    },
  },
  {
    name: 'set and get keep a timestamp and a fraction exactly, until the TTL',
    async run(store) {
      await store.set('lock:t', T0 + 123_457, 5000, T0)
      await store.set('x:f', 0.25, 5000, T0)
      assert.equal(await store.get('lock:t', T0 + 4999), T0 + 123_457)
      assert.equal(await store.get('x:f', T0), 0.25)
      assert.equal(await store.get('lock:t', T0 + 5000), 0)
      assert.equal(await store.get('absent:k', T0), 0)
    },
  },
  {
    name: 'delete forgets a count',
    async run(store) {
      await store.increment('fail:d', 1000, T0)
      await store.delete('fail:d')
      await store.delete('fail:never')
      assert.equal(await store.get('fail:d', T0), 0)
    },
  },
  {
    name: 'getMany: several values in one step, 0 where absent or ended',
    async run(store) {
      await store.set('lock:m', T0 + 5000, 1000, T0)
      await store.increment('fail:m', 60_000, T0)
      await store.increment('fail:m', 60_000, T0)
      assert.deepEqual(await store.getMany(['lock:m', 'fail:m', 'fail:absent'], T0 + 10), [T0 + 5000, 2, 0])
      assert.deepEqual(await store.getMany(['lock:m', 'fail:m'], T0 + 1000), [0, 2], 'the set value ended after its ttl')
      assert.deepEqual(await store.getMany([], T0), [])
    },
  },
  {
    name: 'hit: a fixed window with its end, then a new one',
    async run(store) {
      assert.deepEqual(await store.hit('hits:h', 1000, T0), { count: 1, resetAt: T0 + 1000 })
      assert.deepEqual(await store.hit('hits:h', 1000, T0 + 600), { count: 2, resetAt: T0 + 1000 })
      assert.deepEqual(await store.hit('hits:h', 1000, T0 + 1000), { count: 1, resetAt: T0 + 2000 })
    },
  },
  {
    name: 'trip: nothing below the threshold; at it, level 1 for the base, the flag set to its end and the count gone',
    async run(store) {
      await store.increment('fail:a', 86_400_000, T0)
      await store.increment('fail:a', 86_400_000, T0)
      assert.equal(await store.trip(lockTrip(), T0), undefined)
      await store.increment('fail:a', 86_400_000, T0)
      assert.deepEqual(await store.trip(lockTrip(), T0), { level: 1, durationMs: 1000 })
      assert.equal(await store.get('fail:a', T0), 0)
      assert.equal(await store.get('lock:a', T0), T0 + 1000)
      assert.equal(await store.get('level:a', T0), 1)
      for (let i = 0; i < 3; i++) await store.increment('fail:a', 86_400_000, T0 + 10)
      assert.equal(await store.trip(lockTrip(), T0 + 10), undefined, 'the flag is still set')
    },
  },
  {
    name: 'trip: each repeat doubles up to the maximum; without a level key always the base',
    async run(store) {
      const durations = []
      let now = T0
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 3; i++) await store.increment('fail:a', 86_400_000, now)
        const tripped = await store.trip(lockTrip(), now)
        durations.push(tripped?.durationMs)
        now += tripped?.durationMs ?? 0
      }
      assert.deepEqual(durations, [1000, 2000, 3000, 3000])
      for (let i = 0; i < 2; i++) await store.increment('ipfail:y', 60_000, T0)
      const block = { countKey: 'ipfail:y', threshold: 2, flagKey: 'ipblock:y', levelTtlMs: 5000, baseMs: 5000, maxMs: 5000 }
      assert.deepEqual(await store.trip(block, T0), { level: 1, durationMs: 5000 })
      assert.equal(await store.get('ipblock:y', T0 + 4999), T0 + 5000)
      assert.equal(await store.get('ipblock:y', T0 + 5000), 0)
    },
  },
]

describe('MemoryCounterStore: the table of counter cases', () => {
  for (const { name, run } of CASES) it(name, () => run(new MemoryCounterStore()))
})

const skip = await redisSkipReason()

describe('RedisCounterStore', { skip }, () => {
  let keys: TestKeyPrefix
  const clients: Redis[] = []
  const store = (prefix = keys.prefix): RedisCounterStore => {
    const client = testRedisClient()
    clients.push(client)
    return new RedisCounterStore(client, { keyPrefix: prefix })
  }
  before(() => {
    keys = testKeyPrefix()
  })
  after(async () => {
    for (const client of clients) client.disconnect()
    await keys.clean()
  })

  describe('the table of counter cases', () => {
    for (const { name, run } of CASES) it(name, () => run(store(`${keys.prefix}${randomBytes(3).toString('hex')}:`)))
  })

  it('two instances racing on one budget take exactly the budget', async () => {
    const [one, two] = [store(), store()]
    const limit = 25
    const calls = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? one : two).reserve('fail:race', limit, 60_000, T0))
    const taken = (await Promise.all(calls)).filter(Boolean).length
    assert.equal(taken, limit)
    assert.equal(await one.get('fail:race', T0), limit)
  })

  it('a trip raced by two instances is told to exactly one caller', async () => {
    const [one, two] = [store(), store()]
    const trip = lockTrip({ countKey: 'fail:tr', flagKey: 'lock:tr', levelKey: 'level:tr' })
    for (let i = 0; i < trip.threshold; i++) await one.increment('fail:tr', 86_400_000, T0)
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? one : two).trip(trip, T0)))
    const told = results.filter((result) => result !== undefined)
    assert.deepEqual(told, [{ level: 1, durationMs: 1000 }])
  })

  it('hits from two instances add up in one window', async () => {
    const [one, two] = [store(), store()]
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? one : two).hit('hits:both', 60_000, T0 + i)))
    assert.deepEqual(results.map((r) => r.count).sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i + 1))
    assert.ok(results.every((r) => r.resetAt === results.find((first) => first.count === 1)!.resetAt), 'one window for all')
  })

  it('every key it writes has a TTL, so a flood cannot fill Redis', async () => {
    const prefix = `${keys.prefix}ttl:`
    const counters = store(prefix)
    const now = Date.now()
    for (let i = 0; i < 20; i++) {
      await counters.increment(`fail:${i}`, 60_000, now)
      await counters.reserve(`ipfail:${i}`, 5, 60_000, now)
      await counters.hit(`hits:${i}`, 60_000, now)
      await counters.set(`lock:${i}`, now + 1000, 1000, now)
      for (let j = 0; j < 3; j++) await counters.increment(`fail:t${i}`, 86_400_000, now)
      await counters.trip(lockTrip({ countKey: `fail:t${i}`, flagKey: `lock:t${i}`, levelKey: `level:t${i}` }), now)
      await counters.reserve(`ipfail:r${i}`, 5, 60_000, now)
      await counters.release(`ipfail:r${i}`, now)
      await counters.get(`absent:${i}`, now)
    }
    const probe = clients[clients.length - 1]!
    const written = (await keys.keys()).filter((key) => key.startsWith(prefix))
    assert.ok(written.length >= 20 * 5, `keys written: ${written.length}`)
    const ttls = await Promise.all(written.map((key) => probe.pttl(key)))
    const without = written.filter((_, i) => !(ttls[i]! > 0))
    assert.deepEqual(without, [], 'keys without a TTL')
  })

  it('Limits over two instances sharing a prefix: the account locks at exactly the 10th failure in total', async () => {
    const settings: LimitSettings = { lockoutThreshold: 10, lockoutBaseSeconds: 60, lockoutMaxSeconds: 3600, ipFailureLimit: 0, ipFailureWindowSeconds: 60, ipBlockSeconds: 300, rateLimit: 0, rateLimitWindowSeconds: 60 }
    const prefix = `${keys.prefix}limits:`
    const lockouts: number[] = []
    const episodes = { lockout: async ({ level }: { level: number }) => void lockouts.push(level), ipBlock: async () => undefined }
    const instances = [new Limits(store(prefix), settings, episodes), new Limits(store(prefix), settings, episodes)]
    const now = T0
    for (let failure = 1; failure <= 10; failure++) {
      const instance = instances[failure % 2]!
      assert.equal((await instance.accountStanding('acme', now)).wait, 0, `not locked before failure ${failure}`)
      assert.equal(await instance.reservePasswordCheck('acme', now), 0)
      await instance.recordPasswordFailure('acme', now)
      const lockedOnEither = Math.max(await instances[0]!.lockedFor('acme', now), await instances[1]!.lockedFor('acme', now))
      if (failure < 10) assert.equal(lockedOnEither, 0, `not locked after ${failure} failures`)
      else assert.equal(lockedOnEither, 60, 'locked for the base duration after the 10th')
    }
    assert.deepEqual(lockouts, [1], 'the episode is told once')
    assert.equal((await instances[0]!.accountStanding('acme', now + 1000)).wait, 59)
  })

  it('logs Redis by host and port only', () => {
    assert.equal(describeRedisUrl('redis://:hunter2-secret@cache.internal:6380/2'), 'cache.internal:6380')
    assert.equal(describeRedisUrl('rediss://user:pw@cache.internal'), 'cache.internal:6379')
  })
})
