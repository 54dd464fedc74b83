/**
 * Issue 9 §1, §2: three `bizauth serve` processes on one PostgreSQL and one Redis behave as one.
 * Requests go round-robin over the instances; every check counts answers, never time:
 *
 * - the 10th consecutive wrong password in total locks the account on every instance, and a
 *   success on any instance resets the count;
 * - the per-IP failure budget is a total across instances;
 * - the per-account rate limit (contract §6) is a total across instances, answered 429/5002
 *   with the RateLimit-* headers, which count down across instances on every success.
 *
 * Each would fail with per-instance counters: three instances would allow 3× each budget.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { clusterSkipReason, createAccount, requestToken, startCluster, type Answer, type Cluster } from './helpers/cluster.js'
import { redisTestUrl, testKeyPrefix, type TestKeyPrefix } from './helpers/redis.js'
import { withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'

const INSTANCES = 3
const LOCKOUT_THRESHOLD = 10
const IP_FAILURE_LIMIT = 12
const RATE_LIMIT = 7
const PASSWORD = 'many instances pw 1'
// Each part of the suite speaks from its own address (through X-Forwarded-For from the trusted
// loopback), so one part's failures never spend another part's per-IP budget.
const LOCKOUT_IP = '198.51.100.10'
const RESET_IP = '198.51.100.11'
const RESET_IP_LATER = '198.51.100.15'
const FLOOD_IP = '198.51.100.12'
const OTHER_IP = '198.51.100.13'
const RATE_IP = '198.51.100.14'

const skip = await clusterSkipReason()

describe('three instances on one PostgreSQL and one Redis (issue 9 §1, §2)', { skip, timeout: 240_000 }, () => {
  let database: PostgresTestDatabase
  let cluster: Cluster
  let keys: TestKeyPrefix | undefined

  before(async () => {
    database = await withPostgresDatabase()
    await Promise.all([
      createAccount(database.url, 'locked', PASSWORD, [LOCKOUT_IP]),
      createAccount(database.url, 'forgiven', PASSWORD, [RESET_IP, RESET_IP_LATER]),
      createAccount(database.url, 'busy', PASSWORD, [RATE_IP]),
    ])
    cluster = await startCluster({
      count: INSTANCES,
      databaseUrl: database.url,
      redis: { url: redisTestUrl(), keyPrefix: (keys = testKeyPrefix()).prefix },
      args: [
        '--trust-proxy', '127.0.0.1',
        '--lockout-threshold', String(LOCKOUT_THRESHOLD),
        '--ip-failure-limit', String(IP_FAILURE_LIMIT),
        '--rate-limit', String(RATE_LIMIT),
        '--rate-limit-window', '3600',
      ],
    })
  })

  after(async () => {
    await cluster?.stop()
    await keys?.clean()
    await database?.drop()
  })

  /** `count` requests, one after another, each to the next instance. */
  const roundRobin = async (count: number, send: (url: string, index: number) => Promise<Answer>): Promise<Answer[]> => {
    const answers: Answer[] = []
    for (let index = 0; index < count; index++) answers.push(await send(cluster.next().url, index))
    return answers
  }
  const onEveryInstance = (send: (url: string) => Promise<Answer>): Promise<Answer[]> => Promise.all(cluster.instances.map((instance) => send(instance.url)))
  const codes = (answers: readonly Answer[]): string[] => answers.map((answer) => answer.code ?? String(answer.status))

  it('locks the account at exactly the 10th wrong password in total, on every instance', async () => {
    const wrong = await roundRobin(LOCKOUT_THRESHOLD - 1, (url) => requestToken(url, 'locked', 'wrong password 1', LOCKOUT_IP))
    assert.deepEqual(codes(wrong), Array(LOCKOUT_THRESHOLD - 1).fill('3007'))
    // Nine failures spread over three instances: not locked yet, anywhere (a right password
    // would reset the count, so the probe is the 10th wrong one itself).
    const tenth = await requestToken(cluster.next().url, 'locked', 'wrong password 1', LOCKOUT_IP)
    assert.equal(tenth.code, '3007', 'the 10th wrong password is answered as wrong, and locks')
    const afterwards = await onEveryInstance((url) => requestToken(url, 'locked', PASSWORD, LOCKOUT_IP))
    assert.deepEqual(codes(afterwards), Array(INSTANCES).fill('3008'), 'the right password is refused on every instance while locked')
    for (const answer of afterwards) assert.ok(Number(answer.headers.get('retry-after')) >= 1)
  })

  it('resets the count on a success at any instance', async () => {
    const first = await roundRobin(LOCKOUT_THRESHOLD - 1, (url) => requestToken(url, 'forgiven', 'wrong password 1', RESET_IP))
    assert.deepEqual(codes(first), Array(LOCKOUT_THRESHOLD - 1).fill('3007'))
    const success = await requestToken(cluster.next().url, 'forgiven', PASSWORD, RESET_IP)
    assert.equal(success.status, 200)
    // From a second address: 18 failures from one would spend its per-IP budget (12).
    const second = await roundRobin(LOCKOUT_THRESHOLD - 1, (url) => requestToken(url, 'forgiven', 'wrong password 1', RESET_IP_LATER))
    assert.deepEqual(codes(second), Array(LOCKOUT_THRESHOLD - 1).fill('3007'))
    // One after another: nine failures stand, so a burst of three right passwords at once would
    // find the tenth unit held by the first one's check (3008, retry after a second, by design).
    const stillOpen: Answer[] = []
    for (const instance of cluster.instances) stillOpen.push(await requestToken(instance.url, 'forgiven', PASSWORD, RESET_IP_LATER))
    assert.deepEqual(stillOpen.map((answer) => answer.status), Array(INSTANCES).fill(200), '18 failures with a success between them lock nothing')
  })

  it('blocks a client IP at its failure budget in total, on every instance, and no other IP', async () => {
    const failures = await roundRobin(IP_FAILURE_LIMIT, (url, index) => requestToken(url, `nobody-${index}`, 'x', FLOOD_IP))
    assert.deepEqual(codes(failures), Array(IP_FAILURE_LIMIT).fill('3006'), 'each of the budget is answered as the failure it is')
    const blocked = await onEveryInstance((url) => requestToken(url, 'nobody-more', 'x', FLOOD_IP))
    assert.deepEqual(codes(blocked), Array(INSTANCES).fill('3008'))
    const other = await onEveryInstance((url) => requestToken(url, 'nobody-else', 'x', OTHER_IP))
    assert.deepEqual(codes(other), Array(INSTANCES).fill('3006'), 'another address keeps its own budget')
  })

  it('limits an account to its rate in total, answering 429/5002 with the RateLimit headers', async () => {
    const granted = await roundRobin(RATE_LIMIT, (url) => requestToken(url, 'busy', PASSWORD, RATE_IP))
    assert.deepEqual(granted.map((answer) => answer.status), Array(RATE_LIMIT).fill(200))
    // One shared window: the remaining budget counts down across the instances.
    assert.deepEqual(
      granted.map((answer) => answer.headers.get('ratelimit-remaining')),
      Array.from({ length: RATE_LIMIT }, (_, index) => String(RATE_LIMIT - 1 - index)),
    )
    for (const answer of granted) assert.equal(answer.headers.get('ratelimit-limit'), String(RATE_LIMIT))

    const refused = await onEveryInstance((url) => requestToken(url, 'busy', PASSWORD, RATE_IP))
    for (const answer of refused) {
      assert.equal(answer.status, 429)
      assert.equal(answer.code, '5002')
      assert.equal(answer.headers.get('ratelimit-limit'), String(RATE_LIMIT))
      assert.equal(answer.headers.get('ratelimit-remaining'), '0')
      assert.ok(Number(answer.headers.get('ratelimit-reset')) > 0, `RateLimit-Reset: ${answer.headers.get('ratelimit-reset')}`)
      assert.ok(Number(answer.headers.get('retry-after')) >= 1, `Retry-After: ${answer.headers.get('retry-after')}`)
    }
  })
})
