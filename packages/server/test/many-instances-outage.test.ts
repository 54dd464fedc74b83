/**
 * Issue 9 §4: three `bizauth serve` processes keep serving through an outage of what they share,
 * say so, and recover alone. Each instance reaches the service under test through the test's
 * own TCP proxy (test/helpers/tcp-proxy.ts), which cuts, stalls or blackholes its connections
 * mid-load; the CLI, like an operator's shell elsewhere, reaches PostgreSQL directly.
 *
 * - Redis down: honest requests keep getting tokens (never a 9000 because of Redis), the
 *   instances say they are degraded, fall back to their own counters, and once Redis is back
 *   count together again, without a restart.
 * - PostgreSQL down: token requests answer 500/9000 within a bound, the instances are not
 *   ready; afterwards they serve again without a restart, and every change the CLI made
 *   meanwhile is applied on every instance.
 * - A writer killed mid-change: the other instances see none of it.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { basic } from './helpers/app.js'
import { answer, clusterSkipReason, createAccount, requestToken, startCluster, type Answer, type Cluster } from './helpers/cluster.js'
import { redisTestUrl, testKeyPrefix, type TestKeyPrefix } from './helpers/redis.js'
import { withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { BIZAUTH, bizauthEnv, bizauthOk } from './helpers/server-process.js'
import { startProxyFor, type TcpProxy } from './helpers/tcp-proxy.js'
import { makeTempDir } from './helpers/tmp.js'
import { waitFor } from './helpers/wait-for.js'

const INSTANCES = 3
const PASSWORD = 'outage survivor pw 1'
const STATEMENT_TIMEOUT_MS = 1500
const CONNECT_TIMEOUT_MS = 400
const READINESS_TIMEOUT_MS = 300
/** Every answer during a PostgreSQL outage comes within this; a hang never does. */
const ANSWER_BOUND_MS = 5 * STATEMENT_TIMEOUT_MS

const skip = await clusterSkipReason()


interface TimedAnswer extends Answer {
  ms: number
}

interface Readiness {
  status: number
  degraded: string[]
}

async function readiness(url: string): Promise<Readiness> {
  const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(10_000) })
  const body = (await response.json()) as { degraded?: unknown }
  return { status: response.status, degraded: Array.isArray(body.degraded) ? body.degraded.map(String) : [] }
}

/**
 * Honest token requests from `workers` loops, round-robin over the instances, until stopped;
 * every answer is kept, so the test can say what each one was.
 */
function honestLoad(cluster: Cluster, account: string, workers = 3): { answers: TimedAnswer[]; stop(): Promise<TimedAnswer[]> } {
  const answers: TimedAnswer[] = []
  let running = true
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      const started = performance.now()
      const reply = await requestToken(cluster.next().url, account, PASSWORD)
      answers.push({ ...reply, ms: performance.now() - started })
    }
  })
  return {
    answers,
    async stop() {
      running = false
      await Promise.all(loops)
      return answers
    },
  }
}

describe('three instances through a Redis outage (issue 9 §4)', { skip, timeout: 240_000 }, () => {
  let database: PostgresTestDatabase
  let redisProxy: TcpProxy
  let cluster: Cluster
  let keys: TestKeyPrefix | undefined

  before(async () => {
    database = await withPostgresDatabase()
    const proxied = await startProxyFor(redisTestUrl(), 6379)
    redisProxy = proxied.proxy
    await createAccount(database.url, 'honest', PASSWORD)
    await createAccount(database.url, 'guessed-cut', PASSWORD)
    await createAccount(database.url, 'guessed-stall', PASSWORD)
    cluster = await startCluster({
      count: INSTANCES,
      databaseUrl: database.url,
      redis: { url: proxied.url, keyPrefix: (keys = testKeyPrefix()).prefix },
      args: ['--rate-limit', '0', '--redis-timeout', '50'],
    })
  })

  after(async () => {
    await cluster?.stop()
    await keys?.clean()
    await redisProxy?.close()
    await database?.drop()
  })

  const everyInstance = <T>(probe: (url: string) => Promise<T>): Promise<T[]> => Promise.all(cluster.instances.map((instance) => probe(instance.url)))
  const allDegraded = async (): Promise<true | undefined> => ((await everyInstance(readiness)).every((ready) => ready.status === 200 && ready.degraded.includes('redis')) ? true : undefined)
  const noneDegraded = async (): Promise<true | undefined> => ((await everyInstance(readiness)).every((ready) => ready.status === 200 && ready.degraded.length === 0) ? true : undefined)

  for (const failure of ['cut', 'stall'] as const) {
    it(`keeps issuing tokens when Redis is ${failure === 'cut' ? 'down' : 'silent'}, and counts together again once it is back`, async () => {
      assert.equal(await noneDegraded(), true, 'not degraded before the outage')
      const load = honestLoad(cluster, 'honest')
      await waitFor(() => (load.answers.length >= 30 ? true : undefined), { timeoutMs: 30_000, what: 'load before the outage' })

      // Down: connections reset and new ones never answered. Silent: every byte lost, no reset.
      if (failure === 'cut') {
        redisProxy.blackhole()
        redisProxy.cut()
      } else {
        redisProxy.stall()
        redisProxy.blackhole()
      }
      const atOutage = load.answers.length
      await waitFor(allDegraded, { timeoutMs: 30_000, what: 'every instance to say it is degraded' })
      await waitFor(() => (load.answers.length >= atOutage + 60 ? true : undefined), { timeoutMs: 60_000, what: 'load during the outage' })

      // Per-instance counters meanwhile: still limits, never none. Ten failures on one instance lock there.
      const instance = cluster.instances[0]!
      // (An account of its own per outage: a lock set in an instance's memory outlives the outage.)
      const guessed = `guessed-${failure}`
      for (let index = 0; index < 10; index++) assert.equal((await requestToken(instance.url, guessed, 'wrong password 1')).code, '3007')
      assert.equal((await requestToken(instance.url, guessed, PASSWORD)).code, '3008', 'the fallback counters still lock')

      redisProxy.resume()
      await waitFor(noneDegraded, { timeoutMs: 60_000, what: 'every instance to be back on Redis' })
      const atRecovery = load.answers.length
      await waitFor(() => (load.answers.length >= atRecovery + 30 ? true : undefined), { timeoutMs: 30_000, what: 'load after the outage' })
      const answers = await load.stop()

      const unexpected = answers.filter((reply) => reply.status !== 200)
      assert.deepEqual(unexpected.map((reply) => `${reply.status} ${reply.code}`), [], `every honest request got a token (${answers.length} requests)`)
      assert.equal(cluster.instances.every((server) => server.child.exitCode === null), true, 'no restart')
    })
  }

  it('logs the fall-back and the recovery once per outage, not once per request', () => {
    for (const instance of cluster.instances) {
      const lines = instance.output().split('\n').filter((line) => line.startsWith('{') && /redis/i.test(line) && !line.includes('"listening"'))
      const warnings = lines.filter((line) => line.includes('"level":40'))
      // Two outages above: one line when each began (and one when each ended, at info).
      assert.ok(warnings.length >= 2 && warnings.length <= 4, `warnings about Redis: ${warnings.length}\n${lines.join('\n')}`)
    }
  })

  it('shares the lockout again after the outage', async () => {
    await createAccount(database.url, 'after-outage', PASSWORD)
    for (let index = 0; index < 10; index++) assert.equal((await requestToken(cluster.next().url, 'after-outage', 'wrong password 1')).code, '3007')
    const afterwards = await everyInstance((url) => requestToken(url, 'after-outage', PASSWORD))
    assert.deepEqual(afterwards.map((reply) => reply.code), Array(INSTANCES).fill('3008'))
  })
})

describe('three instances through a PostgreSQL outage (issue 9 §4)', { skip, timeout: 240_000 }, () => {
  let database: PostgresTestDatabase
  let databaseProxy: TcpProxy
  let cluster: Cluster
  let keys: TestKeyPrefix | undefined

  before(async () => {
    database = await withPostgresDatabase()
    const proxied = await startProxyFor(database.url, 5432)
    databaseProxy = proxied.proxy
    await Promise.all([
      createAccount(database.url, 'honest', PASSWORD),
      createAccount(database.url, 'to-suspend', PASSWORD),
      createAccount(database.url, 'holder', PASSWORD),
      createAccount(database.url, 'to-change', PASSWORD),
      createAccount(database.url, 'rs', PASSWORD, ['127.0.0.1'], ['--role', 'introspect']),
    ])
    cluster = await startCluster({
      count: INSTANCES,
      databaseUrl: proxied.url,
      redis: { url: redisTestUrl(), keyPrefix: (keys = testKeyPrefix()).prefix },
      args: [
        '--rate-limit', '0',
        '--database-statement-timeout', String(STATEMENT_TIMEOUT_MS),
        '--database-connect-timeout', String(CONNECT_TIMEOUT_MS),
        '--readiness-timeout', String(READINESS_TIMEOUT_MS),
      ],
    })
  })

  after(async () => {
    await cluster?.stop()
    await keys?.clean()
    await databaseProxy?.close()
    await database?.drop()
  })

  const introspect = (url: string, token: string): Promise<boolean> =>
    fetch(`${url}/v1/token/introspect`, {
      method: 'POST',
      headers: { authorization: basic('rs', PASSWORD), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(10_000),
    }).then(async (response) => ((await response.json()) as { active?: boolean }).active === true)

  it('answers a bounded 9000, is not ready, recovers without a restart, and applies every change made meanwhile', async () => {
    const held = await requestToken(cluster.instances[0]!.url, 'holder', PASSWORD)
    assert.ok(held.accesstoken)
    for (const instance of cluster.instances) assert.equal(await introspect(instance.url, held.accesstoken), true)

    // Cut mid-load: honest clients keep asking through the outage and after it.
    const load = honestLoad(cluster, 'honest')
    await waitFor(() => (load.answers.length >= 30 ? true : undefined), { timeoutMs: 30_000, what: 'load before the outage' })
    databaseProxy.stall()
    databaseProxy.blackhole()
    const atOutage = load.answers.length
    const refusedDuringOutage = (): number => load.answers.slice(atOutage).filter((reply) => reply.code === '9000').length
    await waitFor(() => (refusedDuringOutage() >= 9 ? true : undefined), { timeoutMs: 60_000, what: '9000s during the outage' })
    assert.deepEqual((await Promise.all(cluster.instances.map((instance) => readiness(instance.url)))).map((ready) => ready.status), Array(INSTANCES).fill(503), 'not ready while the store is unreachable')

    // The operator's changes, made meanwhile straight to PostgreSQL; each one returned success.
    await bizauthOk(['account', 'suspend', 'to-suspend', '--database-url', database.url])
    await bizauthOk(['token', 'revoke', '-', '--database-url', database.url], { input: `${held.accesstoken}\n` })
    await bizauthOk(['account', 'set-password', 'to-change', '--password-stdin', '--database-url', database.url], { input: 'changed during the outage 2\n' })
    await createAccount(database.url, 'newcomer', PASSWORD)

    databaseProxy.resume()
    for (const instance of cluster.instances) {
      await waitFor(async () => ((await readiness(instance.url)).status === 200 ? true : undefined), { timeoutMs: 60_000, what: 'ready again' })
    }
    const atRecovery = load.answers.length
    await waitFor(() => (load.answers.slice(atRecovery).filter((reply) => reply.status === 200).length >= 30 ? true : undefined), { timeoutMs: 60_000, what: 'tokens again under load' })
    const answers = await load.stop()
    for (const reply of answers) {
      if (reply.status === 200) continue
      assert.equal(`${reply.status} ${reply.code}`, '500 9000', 'an honest request gets a token, or 9000 while the store is unreachable')
      assert.ok(reply.ms < ANSWER_BOUND_MS, `a 9000 within ${ANSWER_BOUND_MS} ms, not a hang: ${Math.round(reply.ms)} ms`)
    }
    // Every instance, without a restart, serves again and knows every change.
    for (const instance of cluster.instances) {
      await waitFor(async () => ((await requestToken(instance.url, 'honest', PASSWORD)).status === 200 ? true : undefined), { timeoutMs: 30_000, what: 'a token again' })
      assert.equal((await requestToken(instance.url, 'to-suspend', PASSWORD)).code, '3009', 'the suspension')
      assert.equal((await requestToken(instance.url, 'to-change', PASSWORD)).code, '3007', 'the old password')
      assert.equal((await requestToken(instance.url, 'to-change', 'changed during the outage 2')).status, 200, 'the new password')
      assert.equal((await requestToken(instance.url, 'newcomer', PASSWORD)).status, 200, 'the new account')
      await waitFor(async () => ((await introspect(instance.url, held.accesstoken!)) ? undefined : true), { timeoutMs: 10_000, what: 'the revocation' })
      assert.equal(instance.child.exitCode, null, 'no restart')
    }
  })

  it('shows other instances none of a change whose writer was killed in the middle of it', async () => {
    const dir = await makeTempDir('bizauth-killed-import-')
    const file = join(dir.path, 'accounts.jsonl')
    // One precomputed hash for every line: the import's cost is its writes, so the kill lands mid-transaction.
    const hash = (await bizauthOk(['account', 'export', '--include-hashes', '--database-url', database.url])).stdout
      .split('\n')
      .map((line) => (line ? (JSON.parse(line) as { id: string; password_hash?: string }) : undefined))
      .find((row) => row?.id === 'honest')?.password_hash
    assert.ok(hash)
    const lines = Array.from({ length: 50_000 }, (_, index) => JSON.stringify({ id: `bulk-${index}`, allowed_ips: ['127.0.0.1'], password_hash: hash }))
    await writeFile(file, `${lines.join('\n')}\n`)

    const writer = spawn(process.execPath, [BIZAUTH, 'account', 'import', file, '--database-url', database.url], { env: bizauthEnv(), stdio: 'ignore' })
    const exited = new Promise<void>((resolve) => writer.once('exit', () => resolve()))
    const observer = new pg.Client({ connectionString: database.url })
    await observer.connect()
    try {
      // The writer's transaction is open once PostgreSQL shows it; then it dies without a word.
      await waitFor(
        async () => {
          const open = await observer.query<{ open: string }>(
            'select count(*)::text as open from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null and query ilike $1',
            ['%insert%'],
          )
          return Number(open.rows[0]!.open) > 0 ? true : undefined
        },
        { timeoutMs: 30_000, intervalMs: 5, what: "the import's transaction" },
      )
      writer.kill('SIGKILL')
      await exited
      const written = await observer.query<{ count: string }>("select count(*)::text as count from accounts where id like 'bulk-%'")
      assert.equal(written.rows[0]!.count, '0', 'nothing of the killed import is in the store')
    } finally {
      await observer.end()
      await dir.remove()
    }
    for (const instance of cluster.instances) {
      assert.equal((await requestToken(instance.url, 'bulk-0', PASSWORD)).code, '3006')
      assert.equal((await requestToken(instance.url, 'bulk-49999', PASSWORD)).code, '3006')
      assert.equal((await answer(instance.url, '/health/ready')).status, 200)
    }
  })
})
