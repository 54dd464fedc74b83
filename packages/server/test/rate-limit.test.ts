/**
 * The API rate limit (contract.md §6) over a real socket: N requests per fixed window per
 * account, told in RateLimit-* headers on every answer to an authenticated account, and the
 * (N+1)-th answered 429/5002 with Retry-After. The window is moved on by a mocked clock
 * (`Date` only: sockets and timers stay real), never by waiting.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import type { ServerConfig } from '../src/config.js'
import { refusal, startAdminTestApp } from './helpers/admin.js'
import { basic, startTestApp, type TestApp } from './helpers/app.js'

interface Reply {
  status: number
  body: Record<string, unknown>
  headers: Headers
}

async function listening(context: TestContext, overrides: Partial<ServerConfig>): Promise<{ t: TestApp; post: (path: string, authorization: string) => Promise<Reply> }> {
  const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 0, ...overrides })
  context.after(() => t.close())
  const baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 })
  const post = async (path: string, authorization: string): Promise<Reply> => {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization } })
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers }
  }
  return { t, post }
}

/** Stops Date where it is, so a window's reset is exact; `at(ms)` moves it. */
function frozenClock(context: TestContext): { at(ms: number): void; start: number } {
  const start = Date.now()
  context.mock.timers.enable({ apis: ['Date'], now: start })
  return { start, at: (ms) => context.mock.timers.setTime(start + ms) }
}

const RATE_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'] as const

function rateHeaders(reply: Reply): Record<string, string | null> {
  return Object.fromEntries(RATE_HEADERS.map((name) => [name, reply.headers.get(name)]))
}

function assertRateLimited(reply: Reply, expected: { limit: number; reset: string; retryAfter: string }): void {
  assert.equal(reply.status, 429, JSON.stringify(reply.body))
  assert.deepEqual(reply.body, { code: '5002', description: 'too many requests' })
  assert.match(String(reply.headers.get('content-type')), /^application\/json/)
  assert.equal(reply.headers.get('retry-after'), expected.retryAfter)
  assert.deepEqual(rateHeaders(reply), { 'ratelimit-limit': String(expected.limit), 'ratelimit-remaining': '0', 'ratelimit-reset': expected.reset })
}

describe('the API rate limit on POST /v1/token (contract.md §6)', () => {
  it('counts down on successes, answers the (limit+1)-th 429/5002 with the headers, and renews with the window', async (context) => {
    const { t, post } = await listening(context, { rateLimit: 3, rateLimitWindowSeconds: 10 })
    await t.createAccount('acme', 'right')
    await t.createAccount('other', 'right')
    const clock = frozenClock(context)

    const seen: Array<Record<string, string | null>> = []
    for (let i = 0; i < 3; i++) {
      clock.at(i * 1000)
      const issued = await post('/v1/token', basic('acme', 'right'))
      assert.equal(issued.status, 200, JSON.stringify(issued.body))
      assert.equal(typeof issued.body.accesstoken, 'string')
      seen.push(rateHeaders(issued))
    }
    // The window began with the first request; its reset counts down with the clock.
    assert.deepEqual(seen, [
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '2', 'ratelimit-reset': '10' },
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '1', 'ratelimit-reset': '9' },
      { 'ratelimit-limit': '3', 'ratelimit-remaining': '0', 'ratelimit-reset': '8' },
    ])

    clock.at(9701)
    assertRateLimited(await post('/v1/token', basic('acme', 'right')), { limit: 3, reset: '0.299', retryAfter: '1' })
    assertRateLimited(await post('/v1/token', basic('acme', 'right')), { limit: 3, reset: '0.299', retryAfter: '1' })
    assert.equal((await post('/v1/token', basic('other', 'right'))).status, 200, 'the limit is per account')

    clock.at(10_000)
    const renewed = await post('/v1/token', basic('acme', 'right'))
    assert.equal(renewed.status, 200, 'a new window, however many were refused in the last one')
    assert.deepEqual(rateHeaders(renewed), { 'ratelimit-limit': '3', 'ratelimit-remaining': '2', 'ratelimit-reset': '10' })
  })

  it('tells a failed login nothing of the window, and does not count it', async (context) => {
    const { t, post } = await listening(context, { rateLimit: 2 })
    await t.createAccount('acme', 'right')
    for (const authorization of [basic('acme', 'wrong'), basic('nobody', 'right'), 'Basic !!!']) {
      const refused = await post('/v1/token', authorization)
      assert.equal(refused.status, 400)
      assert.deepEqual(rateHeaders(refused), { 'ratelimit-limit': null, 'ratelimit-remaining': null, 'ratelimit-reset': null }, authorization)
    }
    const issued = await post('/v1/token', basic('acme', 'right'))
    assert.equal(issued.headers.get('ratelimit-remaining'), '1', 'the failed logins spent nothing')
  })

  it('with --rate-limit 0 sends no RateLimit header and never limits', async (context) => {
    const { t, post } = await listening(context, { rateLimit: 0 })
    await t.createAccount('acme', 'right')
    for (let i = 0; i < 30; i++) {
      const issued = await post('/v1/token', basic('acme', 'right'))
      assert.equal(issued.status, 200)
      assert.deepEqual(rateHeaders(issued), { 'ratelimit-limit': null, 'ratelimit-remaining': null, 'ratelimit-reset': null })
    }
  })

  it('carries a token-per-message client through the default of 1000 a window', async (context) => {
    const { t, post } = await listening(context, {})
    await t.createAccount('chatty', 'right')
    assert.deepEqual([t.config.rateLimit, t.config.rateLimitWindowSeconds], [1000, 60])
    let last: Reply | undefined
    for (let i = 0; i < 1000; i++) {
      last = await post('/v1/token', basic('chatty', 'right'))
      assert.equal(last.status, 200)
    }
    assert.equal(last!.headers.get('ratelimit-remaining'), '0')
    assert.equal((await post('/v1/token', basic('chatty', 'right'))).status, 429)
  })
})

describe('revocation and the admin API count toward the same limit', () => {
  it('answers a holder revoking past the limit 429/5002, and revokes nothing', async (context) => {
    const { t, post } = await listening(context, { rateLimit: 3, rateLimitWindowSeconds: 60 })
    await t.createAccount('acme', 'right')
    const first = (await post('/v1/token', basic('acme', 'right'))).body.accesstoken as string
    const second = (await post('/v1/token', basic('acme', 'right'))).body.accesstoken as string
    const revoked = await post('/v1/token/revoke', `Bearer ${first}`)
    assert.equal(revoked.status, 200, 'the third request of the window')
    assert.equal(revoked.headers.get('ratelimit-remaining'), '0')
    const refused = await post('/v1/token/revoke', `Bearer ${second}`)
    assert.equal(refused.status, 429)
    assert.deepEqual(refused.body, { code: '5002', description: 'too many requests' })
    assert.match(String(refused.headers.get('retry-after')), /^[1-9]\d*$/)
    assert.equal(refused.headers.get('ratelimit-limit'), '3')
    assert.equal((await t.services.tokenVerifier.verify(second)).active, true, 'the refused revocation revoked nothing')
    // Revoking an already revoked token is answered from what is known, without counting.
    assert.equal((await post('/v1/token/revoke', `Bearer ${first}`)).status, 200)
  })

  it('answers an admin caller past the limit 429/5002, checked against the OpenAPI document', async (context) => {
    const t = await startAdminTestApp('sqlite', { rateLimit: 3 })
    context.after(() => t.close())
    const token = await t.tokenFor('root', ['admin']) // the first request of the window
    for (let i = 0; i < 2; i++) assert.equal((await t.call('GET', '/admin/v1/keys', { token })).statusCode, 200)
    const refused = await t.call('GET', '/admin/v1/keys', { token })
    assert.deepEqual([refusal(refused).status, refusal(refused).code], [429, '5002'])
    assert.equal(refused.headers['ratelimit-remaining'], '0')
    assert.equal(refused.headers['ratelimit-limit'], '3')
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/)
    assert.ok(t.documented.checked >= 4)
  })
})
