/**
 * The counters on Redis (issue 9 §1), in figures:
 *
 *   memory  what 100,000 distinct unknown accounts' failures, and then 100,000 distinct client
 *           addresses' failures, cost in Redis: the calls the server makes for each (through the
 *           `Limits` class on a RedisCounterStore, under a key prefix of this run's own), then
 *           `INFO memory` used_memory before and after, and `MEMORY USAGE` of a sample of keys.
 *           The keys are deleted afterwards.
 *   warm    the warm token path (one account, credential cache hits, --rate-limit 0) of one
 *           `bizauth serve` with --redis-url against the same with memory counters, in
 *           alternating rounds of the same run, each on a fresh server: figures and the ratio.
 *
 * Redis: BENCH_REDIS_URL, else BIZAUTH_TEST_REDIS_URL, else redis://127.0.0.1:6379. Without an
 * answer there, the bench says so and is skipped.
 *
 *   import { runRedisBench } from './redis.mjs'
 *   await runRedisBench({ seconds: 10 })
 *
 * Run alone: `node bench/redis.mjs` (BENCH_SECONDS).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { basicAuthorization, benchPassword, seedAccounts } from './lib/accounts.mjs'
import { startBizauth, withCpuOf } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'
import { serverModule } from './lib/paths.mjs'
import { benchRedisUrl } from './lib/services.mjs'

const DISTINCT = 100_000
/** Calls in flight at once while filling: enough to keep Redis busy, as many servers would. */
const FILL_CONCURRENCY = 200
const MEMORY_SAMPLE = 200
const CONNECTIONS = 50
const WARM_UP_SECONDS = 1
const ROUNDS = 2

export async function runRedisBench({ seconds, log = console.log }) {
  const url = benchRedisUrl()
  const where = `${new URL(url).hostname}:${new URL(url).port || 6379}`
  const prefix = `bizauth-bench-${process.pid}-${randomBytes(3).toString('hex')}:`
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    await redis.ping()
  } catch (error) {
    log(`  Redis at ${where} does not answer (${error.message}); skipped`)
    redis.disconnect()
    return { skipped: `Redis at ${where} does not answer` }
  }
  try {
    const memory = await measureMemory({ url, redis, prefix, log })
    const warm = await measureWarmPath({ url, prefix, seconds, log })
    return { redis: where, rows: [...memory.rows, ...warm.rows], ratios: warm.ratios, rounds: warm.rounds }
  } finally {
    await deleteKeys(redis, prefix)
    redis.disconnect()
  }
}

async function measureMemory({ url, redis, prefix, log }) {
  const { RedisCounterStore } = await import(serverModule('limits/redis-counter-store.js'))
  const { Limits } = await import(serverModule('limits/limits.js'))
  const { DEFAULTS } = await import(serverModule('config.js'))
  const client = new Redis(url)
  const limits = new Limits(new RedisCounterStore(client, { keyPrefix: prefix }), DEFAULTS)
  const now = Date.now()
  // What the server asks for each wrong guess (accounts/authenticate.ts): the lock, the reservation, the failure.
  const accountFailure = async (i) => {
    const key = `bench-unknown-${i}`
    await limits.accountLockedFor(key, now)
    await limits.reservePasswordCheck(key, now)
    await limits.recordPasswordFailure(key, now)
  }
  const addressFailure = async (i) => {
    const address = `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::`
    await limits.ipBlockedFor(address, now)
    await limits.reserveIpCheck(address, now)
    await limits.recordIpFailure(address, now, true)
  }
  const rows = []
  try {
    for (const [name, kind, failure] of [
      ['100k unknown accounts, one failure each', 'fail:', accountFailure],
      ['100k client addresses, one failure each', 'ipfail:', addressFailure],
    ]) {
      const before = await usedMemory(redis)
      const started = performance.now()
      await inParallel(DISTINCT, FILL_CONCURRENCY, failure)
      const fillSeconds = (performance.now() - started) / 1000
      const after = await usedMemory(redis)
      const sample = await sampleKeys(redis, `${prefix}${kind}*`, MEMORY_SAMPLE)
      const usages = await Promise.all(sample.map((key) => redis.memory('USAGE', key)))
      const ttls = await Promise.all(sample.map((key) => redis.pttl(key)))
      const row = {
        name,
        keys: await countKeys(redis, `${prefix}${kind}*`),
        usedMemoryDeltaMiB: round((after - before) / 2 ** 20, 2),
        bytesPerFailure: Math.round((after - before) / DISTINCT),
        memoryUsagePerKey: Math.round(usages.reduce((sum, bytes) => sum + Number(bytes), 0) / usages.length),
        minTtlSeconds: Math.round(Math.min(...ttls) / 1000),
        failuresPerSecond: Math.round(DISTINCT / fillSeconds),
      }
      rows.push(row)
      log(`  ${name}: ${row.keys} keys, used_memory +${row.usedMemoryDeltaMiB} MiB (${row.bytesPerFailure} B per failure; MEMORY USAGE ${row.memoryUsagePerKey} B per key), every key expiring (shortest TTL left ${row.minTtlSeconds} s); ${row.failuresPerSecond} failures/s through Limits`)
      await deleteKeys(redis, prefix)
    }
  } finally {
    client.disconnect()
  }
  return { rows }
}

async function measureWarmPath({ url, prefix, seconds, log }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'bizauth-bench-redis-'))
  const password = benchPassword()
  const headers = { authorization: basicAuthorization('bench-warm', password) }
  const counters = {
    memory: ['--rate-limit', '0'],
    redis: ['--rate-limit', '0', '--redis-url', url, '--redis-key-prefix', `${prefix}warm:`],
  }
  try {
    await seedAccounts(dataDir, password, [{ id: 'bench-warm', allowedIps: ['127.0.0.1/32'] }])
    const rounds = { memory: [], redis: [] }
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of i % 2 === 0 ? ['redis', 'memory'] : ['memory', 'redis']) {
        const server = await startBizauth({ dataDir, flags: counters[name] })
        try {
          await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers })
          const run = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds, headers }))
          if (run.non200 > 0) log(`  !! ${run.non200} non-200 answers: ${JSON.stringify(run.statuses)}`)
          rounds[name].push(run)
          log(`  warm, ${name} counters, round ${i + 1}: ${run.okRps} ok/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.serverCpuUsPerRequest ?? '?'} µs CPU/request`)
        } finally {
          await server.stop()
        }
      }
    }
    const mean = (runs, key) => round(runs.reduce((sum, run) => sum + (run[key] ?? 0), 0) / runs.length, 1)
    const summary = (runs) => ({ okRps: mean(runs, 'okRps'), p50: mean(runs, 'p50'), p99: mean(runs, 'p99'), cpuUsPerRequest: mean(runs, 'serverCpuUsPerRequest'), non200: runs.reduce((sum, run) => sum + run.non200, 0) })
    const redis = summary(rounds.redis)
    const memory = summary(rounds.memory)
    const ratios = {
      'redis ÷ memory, 200/s': memory.okRps > 0 ? round(redis.okRps / memory.okRps, 3) : null,
      'redis ÷ memory, p50': memory.p50 > 0 ? round(redis.p50 / memory.p50, 2) : null,
      'redis ÷ memory, CPU per request': memory.cpuUsPerRequest > 0 ? round(redis.cpuUsPerRequest / memory.cpuUsPerRequest, 2) : null,
    }
    log(`  warm path on Redis counters: ${redis.okRps} / ${memory.okRps} ok/s = ${ratios['redis ÷ memory, 200/s'] === null ? 'n/a' : `${round(ratios['redis ÷ memory, 200/s'] * 100, 1)}%`} of memory counters`)
    return {
      rows: [
        { name: 'warm, Redis counters', ...redis },
        { name: 'warm, memory counters', ...memory },
      ],
      ratios,
      rounds,
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Runs `task(i)` for i in [0, total), at most `concurrency` at once. */
async function inParallel(total, concurrency, task) {
  let next = 0
  const worker = async () => {
    while (next < total) await task(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

async function usedMemory(redis) {
  const info = await redis.info('memory')
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN)
}

async function* scanKeys(redis, pattern) {
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000)
    yield* batch
    cursor = next
  } while (cursor !== '0')
}

async function sampleKeys(redis, pattern, size) {
  const sample = []
  for await (const key of scanKeys(redis, pattern)) {
    sample.push(key)
    if (sample.length >= size) break
  }
  return sample
}

async function countKeys(redis, pattern) {
  let count = 0
  for await (const _key of scanKeys(redis, pattern)) count++
  return count
}

async function deleteKeys(redis, prefix) {
  let batch = []
  for await (const key of scanKeys(redis, `${prefix}*`)) {
    batch.push(key)
    if (batch.length >= 5000) {
      await redis.unlink(...batch)
      batch = []
    }
  }
  if (batch.length > 0) await redis.unlink(...batch)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10)
  const result = await runRedisBench({ seconds })
  console.log(JSON.stringify({ rows: result.rows, ratios: result.ratios }, null, 2))
  process.exit()
}
