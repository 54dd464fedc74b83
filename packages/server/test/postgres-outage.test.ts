/**
 * Issue 13 §3: a stalled PostgreSQL connection must not wedge the server. A real `bizauth serve`
 * talks to a real PostgreSQL through a TCP proxy (test/helpers/tcp-proxy.ts) that loses every
 * byte while stalled, as a middlebox that lost the connections' state would. During the stall:
 * token requests answer 500/9000 within a bound, /health/ready 503/9000 within its deadline,
 * /health/live 200, and the log holds a few lines, not one per request. After it: the same
 * process answers again (the broken clients were discarded). A SIGTERM with queries stuck
 * stops the process within its grace period.
 *
 * The timeouts are small so the test is quick; the bounds are generous multiples of them, so a
 * busy machine does not fail it, while a hang (the bug) always does.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { basic } from './helpers/app.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { bizauthOk, serve, type ServeChild } from './helpers/server-process.js'
import { startProxyFor, type TcpProxy } from './helpers/tcp-proxy.js'
import { waitFor } from './helpers/wait-for.js'

const STATEMENT_TIMEOUT_MS = 1500
const CONNECT_TIMEOUT_MS = 400
const READINESS_TIMEOUT_MS = 300
/** Shorter than a stuck query, so the last step stops through the grace path, not gracefully. */
const SHUTDOWN_GRACE_MS = 300
/** Every answer during the stall comes within this; without the fix they never come. */
const ANSWER_BOUND_MS = 5 * STATEMENT_TIMEOUT_MS
const READY_BOUND_MS = 10 * READINESS_TIMEOUT_MS
const PASSWORD = 'outage password 1'

interface Timed {
  status: number | 'no answer'
  code: string | undefined
  ms: number
}

const skip = await postgresSkipReason()

describe('a stalled PostgreSQL connection (issue 13 §3)', { skip }, () => {
  let database: PostgresTestDatabase
  let proxy: TcpProxy
  let server: ServeChild

  before(async () => {
    database = await withPostgresDatabase()
    const proxied = await startProxyFor(database.url, 5432)
    proxy = proxied.proxy
    await bizauthOk(['account', 'create', 'demo', '--allow-ip', '127.0.0.1', '--password-stdin', '--database-url', database.url], { input: `${PASSWORD}\n` })
    server = await serve(
      [
        '--port', '0',
        '--database-url', proxied.url,
        '--database-statement-timeout', String(STATEMENT_TIMEOUT_MS),
        '--database-connect-timeout', String(CONNECT_TIMEOUT_MS),
        '--readiness-timeout', String(READINESS_TIMEOUT_MS),
        '--shutdown-grace', String(SHUTDOWN_GRACE_MS),
        // Every token request reads the account row: no answer comes from memory alone.
        '--credential-cache-ttl', '0',
        '--rate-limit', '0',
      ],
      {},
    )
  })

  after(async () => {
    await server?.kill('SIGKILL')
    await proxy?.close()
    await database?.drop()
  })

  const timed = async (path: string, method: 'GET' | 'POST' = 'GET'): Promise<Timed> => {
    const started = performance.now()
    try {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: method === 'POST' ? { authorization: basic('demo', PASSWORD) } : {},
        // Far past every bound: a request still open then is a hang, and is reported as one.
        signal: AbortSignal.timeout(4 * ANSWER_BOUND_MS),
      })
      const body = await response.text()
      const code = response.status === 200 ? undefined : (JSON.parse(body) as { code?: string }).code
      return { status: response.status, code, ms: performance.now() - started }
    } catch {
      return { status: 'no answer', code: undefined, ms: performance.now() - started }
    }
  }
  const token = (): Promise<Timed> => timed('/v1/token', 'POST')
  const errorLines = (): number => server.output().split('\n').filter((line) => line.includes('"level":50')).length

  it('answers 9000 and 503 within bounds while stalled, heals without a restart, and stops on SIGTERM', async () => {
    // Warm the pool under load: every pooled client is connected through the proxy.
    const warm = await Promise.all(Array.from({ length: 30 }, token))
    assert.deepEqual(new Set(warm.map((answer) => answer.status)), new Set([200]))
    assert.equal((await timed('/health/ready')).status, 200)
    const errorLinesBefore = errorLines()

    proxy.stall()
    const failures = 40
    const [tokens, ready, live] = await Promise.all([
      Promise.all(Array.from({ length: failures }, token)),
      timed('/health/ready'),
      timed('/health/live'),
    ])
    for (const answer of tokens) {
      assert.equal(answer.status, 500, `a token request during the stall: ${JSON.stringify(answer)}`)
      assert.equal(answer.code, '9000')
      assert.ok(answer.ms < ANSWER_BOUND_MS, `answered within ${ANSWER_BOUND_MS} ms: ${JSON.stringify(answer)}`)
    }
    assert.equal(ready.status, 503, JSON.stringify(ready))
    assert.equal(ready.code, '9000')
    assert.ok(ready.ms < READY_BOUND_MS, `readiness answered within ${READY_BOUND_MS} ms: ${JSON.stringify(ready)}`)
    assert.equal(live.status, 200)
    // One line per kind of failure (a timed-out query, a timed-out connect, the readiness
    // deadline...), not one per failed request.
    const logged = errorLines() - errorLinesBefore
    assert.ok(logged >= 1 && logged <= 8, `error lines for ${failures + 1} failures: ${logged}\n${server.output()}`)

    // The network heals: the same process answers again, with new connections.
    proxy.resume()
    const acceptedBefore = proxy.accepted
    await waitFor(async () => ((await token()).status === 200 ? true : undefined), { timeoutMs: 30_000, what: 'a token after the stall' })
    await waitFor(async () => ((await timed('/health/ready')).status === 200 ? true : undefined), { timeoutMs: 30_000, what: 'ready after the stall' })
    assert.ok(proxy.accepted > acceptedBefore, 'the broken clients were replaced by new connections')
    assert.equal(server.child.exitCode, null, 'no restart: the first process still serves')

    // Stuck again, with queries in flight: SIGTERM still stops the process, through its grace.
    proxy.stall()
    const stuck = Promise.all(Array.from({ length: 5 }, token))
    const exit = await Promise.race([
      server.kill('SIGTERM'),
      new Promise<'still running'>((resolve) => setTimeout(resolve, 4 * ANSWER_BOUND_MS, 'still running').unref()),
    ])
    assert.notEqual(exit, 'still running')
    assert.match(server.output(), /still busy after --shutdown-grace/)
    await stuck
  })
})
