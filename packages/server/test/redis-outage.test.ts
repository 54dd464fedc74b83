/**
 * Redis out (issue 9 §4): the shared counters behind the test's own TCP proxy, which stalls
 * (a middlebox that drops packets without a reset) or blackholes and cuts (connections reset,
 * new ones never answered). Every call is still answered, within a few times --redis-timeout,
 * by the instance's memory counters; bizauth_redis_up goes to 0 and back to 1; the log says it
 * once each way; and once the proxy forwards again, counting is shared again without a restart.
 * Then the same with a real `bizauth serve`: tokens keep being issued (never a 9000) and
 * /health/ready stays 200 with the degraded state in its body.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { openSharedCounters, type FallbackCounterStore } from '../src/limits/fallback-counter-store.js'
import { RedisCounterStore } from '../src/limits/redis-counter-store.js'
import { createMetrics, observeRedis, type Metrics } from '../src/metrics.js'
import { redisSkipReason, redisTestAddress, testKeyPrefix, testRedisClient, type TestKeyPrefix } from './helpers/redis.js'
import { bizauthOk, serve } from './helpers/server-process.js'
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js'
import { useTempDir } from './helpers/tmp.js'
import { waitFor } from './helpers/wait-for.js'

const TIMEOUT_MS = 100
/** A call answered from memory pays at most one timeout; the rest is slack for a shared machine. */
const ANSWER_BOUND_MS = 4 * TIMEOUT_MS
const FELL_BACK = /Redis does not answer/
const RECOVERED = /Redis answers again/

interface LogLine {
  level: 'warn' | 'info'
  message: string
  details: object
}

const failures: Array<{ name: string; fail(proxy: TcpProxy): void }> = [
  { name: 'a stall (packets dropped, no reset)', fail: (proxy) => proxy.stall() },
  {
    name: 'a cut with new connections blackholed',
    fail: (proxy) => {
      proxy.blackhole()
      proxy.cut()
    },
  },
]

async function redisUp(metrics: Metrics): Promise<number | undefined> {
  const gauge = metrics.registry.getSingleMetric('bizauth_redis_up')
  return (await gauge?.get())?.values[0]?.value
}

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work
  return { value, ms: performance.now() - started }
}

const count = (lines: readonly LogLine[], pattern: RegExp): number => lines.filter((line) => pattern.test(line.message)).length

const skip = await redisSkipReason()

describe('the shared counters through a Redis outage', { skip, timeout: 120_000 }, () => {
  let keys: TestKeyPrefix
  before(() => {
    keys = testKeyPrefix()
  })
  after(() => keys?.clean())

  async function openThroughProxy(t: { after(fn: () => Promise<void>): void }, options: { url?: string; startWaitMs?: number } = {}) {
    const proxy = await startTcpProxy(redisTestAddress())
    t.after(() => proxy.close())
    const prefix = `${keys.prefix}${randomBytes(3).toString('hex')}:`
    const lines: LogLine[] = []
    const logger = {
      warn: (details: object, message: string) => void lines.push({ level: 'warn', message, details }),
      info: (details: object, message: string) => void lines.push({ level: 'info', message, details }),
    }
    const counters: FallbackCounterStore = await openSharedCounters({
      url: options.url ?? `redis://127.0.0.1:${proxy.port}`,
      keyPrefix: prefix,
      timeoutMs: TIMEOUT_MS,
      logger,
      probeIntervalMs: 50,
      ...(options.startWaitMs === undefined ? {} : { startWaitMs: options.startWaitMs }),
    })
    t.after(() => counters.close())
    const metrics = createMetrics({ defaultMetrics: false })
    observeRedis(metrics, counters)
    // Another instance, straight on Redis: what it sees is what is shared.
    const other = new RedisCounterStore(testRedisClient(), { keyPrefix: prefix })
    t.after(() => other.close())
    return { proxy, counters, metrics, other, lines }
  }

  for (const { name, fail } of failures) {
    it(`${name}: every call answered in time from memory, then shared again after the proxy forwards`, async (t) => {
      const { proxy, counters, metrics, other, lines } = await openThroughProxy(t)
      const now = Date.now()
      assert.equal(counters.up, true)
      assert.equal(await redisUp(metrics), 1)
      await counters.increment('fail:before', 60_000, now)
      assert.equal(await other.get('fail:before', now), 1, 'shared while Redis answers')

      fail(proxy)
      const oneByOne = []
      for (let i = 0; i < 20; i++) oneByOne.push(await timed(counters.increment('fail:during', 60_000, now)))
      const atOnce = await Promise.all(Array.from({ length: 30 }, () => timed(counters.reserve('ipfail:during', 25, 60_000, now))))
      const slowest = Math.max(...[...oneByOne, ...atOnce].map((call) => call.ms))
      assert.ok(slowest < ANSWER_BOUND_MS, `slowest call ${slowest.toFixed(1)} ms, bound ${ANSWER_BOUND_MS} ms`)
      assert.deepEqual(oneByOne.map((call) => call.value), Array.from({ length: 20 }, (_, i) => i + 1), 'counted on, in memory')
      assert.equal(atOnce.filter((call) => call.value).length, 25, 'the limit still holds, per instance')
      assert.equal(await counters.local.get('fail:during', now), 20)
      assert.equal(await other.get('fail:during', now), 0, 'nothing of it reached Redis')
      assert.equal(counters.up, false)
      assert.equal(await redisUp(metrics), 0)

      proxy.resume()
      await waitFor(() => (counters.up ? true : undefined), { timeoutMs: 20_000, what: 'the counters shared again' })
      assert.equal(await redisUp(metrics), 1)
      assert.equal(count(lines, FELL_BACK), 1, 'one line when it fell back')
      assert.equal(count(lines, RECOVERED), 1, 'one line when Redis was back')
      assert.deepEqual(lines.map((line) => line.level), ['warn', 'info'], 'and nothing else')

      await counters.increment('fail:after', 60_000, now)
      await other.increment('fail:after', 60_000, now)
      assert.equal(await other.get('fail:after', now), 2, 'this instance counts on Redis again')
      assert.equal(await counters.get('fail:after', now), 2, 'and sees what the other counted')
    })
  }

  it('starts on memory counters when Redis does not answer at start, and never logs the URL password', async (t) => {
    const address = redisTestAddress()
    const deadProxy = await startTcpProxy(address)
    deadProxy.blackhole()
    t.after(() => deadProxy.close())
    const { counters, metrics, lines } = await openThroughProxy(t, { url: `redis://:hunter2-secret@127.0.0.1:${deadProxy.port}`, startWaitMs: 300 })
    assert.equal(counters.up, false)
    assert.equal(await redisUp(metrics), 0)
    const answer = await timed(counters.reserve('fail:start', 10, 60_000, Date.now()))
    assert.equal(answer.value, true)
    assert.ok(answer.ms < ANSWER_BOUND_MS, `${answer.ms.toFixed(1)} ms`)
    assert.equal(count(lines, FELL_BACK), 1)
    const logged = JSON.stringify(lines)
    assert.ok(!logged.includes('hunter2'), logged)
    assert.match(logged, new RegExp(`127\\.0\\.0\\.1:${deadProxy.port}`), 'Redis named by host and port')
  })
})

describe('bizauth serve on Redis counters through an outage', { skip, timeout: 120_000 }, () => {
  let keys: TestKeyPrefix
  before(() => {
    keys = testKeyPrefix()
  })
  after(() => keys?.clean())

  it('keeps issuing tokens while Redis is cut, stays ready with redis degraded, and recovers without a restart', async (t) => {
    const dataDir = await useTempDir(t)
    await bizauthOk(['account', 'create', 'acme', '--allow-ip', '127.0.0.1', '--password-stdin', '--data-dir', dataDir], { input: 'right-password-1\n' })
    const proxy = await startTcpProxy(redisTestAddress())
    t.after(() => proxy.close())
    const prefix = `${keys.prefix}serve:`
    const server = await serve(['--data-dir', dataDir, '--port', '0', '--admin-port', '0', '--redis-url', `redis://127.0.0.1:${proxy.port}`, '--redis-key-prefix', prefix, '--redis-timeout', String(TIMEOUT_MS)])
    t.after(() => server.kill('SIGKILL').then(() => undefined))
    const adminUrl = await waitFor(() => server.adminUrl(), { what: 'the admin listener' })
    const authorization = `Basic ${Buffer.from('acme:right-password-1').toString('base64')}`
    const token = async (): Promise<number> => {
      const response = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { authorization } })
      await response.arrayBuffer()
      return response.status
    }
    const ready = async (): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${server.url}/health/ready`)
      return { status: response.status, body: await response.json() }
    }
    const redisUpMetric = async (): Promise<string | undefined> => /^bizauth_redis_up (\d)$/m.exec(await (await fetch(`${adminUrl}/metrics`)).text())?.[1]

    assert.equal(await token(), 200)
    assert.deepEqual(await ready(), { status: 200, body: { status: 'ready' } })
    assert.equal(await redisUpMetric(), '1')
    assert.ok((await keys.keys()).includes(`${prefix}rate:acme`), 'the rate limit is counted on Redis')

    proxy.blackhole()
    proxy.cut()
    const statuses = []
    for (let i = 0; i < 20; i++) statuses.push(await token())
    assert.deepEqual(statuses, Array(20).fill(200), 'every token request answered with a token')
    assert.deepEqual(await ready(), { status: 200, body: { status: 'ready', degraded: ['redis'] } })
    assert.equal(await redisUpMetric(), '0')

    proxy.resume()
    await waitFor(async () => ((await ready()).body as { degraded?: unknown }).degraded === undefined || undefined, { timeoutMs: 20_000, what: 'readiness without degraded' })
    assert.equal(await redisUpMetric(), '1')
    assert.equal(await token(), 200)
    const output = server.output()
    assert.equal(output.split('\n').filter((line) => FELL_BACK.test(line)).length, 1, 'one line when it fell back')
    assert.equal(output.split('\n').filter((line) => RECOVERED.test(line)).length, 1, 'one line when Redis was back')
  })
})
