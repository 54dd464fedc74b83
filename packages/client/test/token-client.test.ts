import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { BizauthError } from '../src/errors.js'
import { rejectionOf } from './support/rejection.js'
import { TokenClient, type TokenClientInternals, type TokenClientOptions } from '../src/token-client.js'
import type { RetryEvent } from '../src/retry.js'
import {
  answerError, answerRaw, cutMidBody, issueToken, makeJwt, neverAnswer, resetConnection,
  startFakeTokenService, writeInChunks, type FakeTokenService, type TokenBehaviour,
} from './support/fake-token-service.js'

const PASSWORD = 'pa:ss-w0rd-never-printed'
let service: FakeTokenService | undefined

afterEach(async () => {
  await service?.close()
  service = undefined
})

/** Retries never wait for real: the injected sleep records the delays and returns at once. */
function clientFor(
  svc: FakeTokenService,
  options: Partial<TokenClientOptions> = {},
  internals: TokenClientInternals = {},
): { client: TokenClient; sleeps: number[] } {
  const sleeps: number[] = []
  const client = new TokenClient(
    { account: 'acme', password: PASSWORD, baseUrl: svc.url, ...options },
    { sleep: async (ms) => { sleeps.push(ms) }, random: () => 0.5, ...internals },
  )
  return { client, sleeps }
}


describe('issuing and caching', () => {
  test('sends Basic base64(account:password) and returns the parsed token', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    const token = await client.getToken()
    assert.equal(service.tokenAuthorizations[0], `Basic ${Buffer.from(`acme:${PASSWORD}`).toString('base64')}`)
    assert.equal(token.accessToken, service.issuedTokens[0])
    assert.equal(token.type, 'Bearer')
    assert.match(token.expired, /^\d{14}$/)
    assert.ok(Math.abs(token.expiresAt.getTime() - (Date.now() + 86_400_000)) < 5_000)
    assert.equal(await client.authorization(), `Bearer ${service.issuedTokens[0]}`)
  })

  test('100 concurrent getToken() calls make exactly 1 request and share its result', async () => {
    service = await startFakeTokenService(issueToken({ delayMs: 50 }))
    const { client } = clientFor(service)
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken()))
    assert.equal(service.tokenRequests, 1)
    assert.equal(new Set(tokens.map((token) => token.accessToken)).size, 1)
    await client.getToken()
    assert.equal(service.tokenRequests, 1, 'a cached token is reused')
  })

  test('a body sent in several chunks with pauses is read to its end', async () => {
    service = await startFakeTokenService(issueToken({ chunks: 5, pauseMs: 40 }))
    const { client } = clientFor(service)
    const token = await client.getToken()
    assert.equal(token.accessToken, service.issuedTokens[0])
  })

  test('an `expired` only 10 minutes ahead is used until just before expiry, without a refresh loop', async () => {
    service = await startFakeTokenService(issueToken({ lifetimeMs: 10 * 60_000 }))
    let nowMs = Date.now()
    const { client } = clientFor(service, {}, { now: () => nowMs })
    const first = await client.getToken()
    for (let call = 0; call < 50; call++) await client.getToken()
    assert.equal(service.tokenRequests, 1)
    nowMs = first.expiresAt.getTime() - 31_000
    assert.equal((await client.getToken()).accessToken, first.accessToken)
    assert.equal(service.tokenRequests, 1)
    nowMs = first.expiresAt.getTime() - 29_000
    const second = await client.getToken()
    assert.equal(service.tokenRequests, 2, 'refreshed just before expiry')
    assert.notEqual(second.accessToken, first.accessToken)
  })

  test('a 24 h token is refreshed once less than refreshMarginSeconds is left', async () => {
    service = await startFakeTokenService()
    let nowMs = Date.now()
    const { client } = clientFor(service, { refreshMarginSeconds: 3600 }, { now: () => nowMs })
    const first = await client.getToken()
    nowMs = first.expiresAt.getTime() - 3_601_000
    await client.getToken()
    assert.equal(service.tokenRequests, 1)
    nowMs = first.expiresAt.getTime() - 3_599_000
    await client.getToken()
    assert.equal(service.tokenRequests, 2)
  })

  test('when the JWT exp is earlier than `expired`, the earlier instant wins', async () => {
    const expSeconds = Math.floor(Date.now() / 1000) + 7200
    service = await startFakeTokenService(issueToken({ jwtExpSeconds: expSeconds }))
    const { client } = clientFor(service)
    assert.equal((await client.getToken()).expiresAt.getTime(), expSeconds * 1000)
  })

  test('invalidate() forgets the cached token', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    const first = await client.getToken()
    client.invalidate()
    const second = await client.getToken()
    assert.equal(service.tokenRequests, 2)
    assert.notEqual(second.accessToken, first.accessToken)
  })

  test('tokens of different base URLs never mix in a shared store', async () => {
    service = await startFakeTokenService()
    const other = await startFakeTokenService()
    try {
      const { MemoryTokenStore } = await import('../src/memory-token-store.js')
      const store = new MemoryTokenStore()
      const production = clientFor(service, { store }).client
      const staging = clientFor(other, { store }).client
      const a = await production.getToken()
      const b = await staging.getToken()
      assert.notEqual(a.accessToken, b.accessToken)
      assert.equal(service.tokenRequests, 1)
      assert.equal(other.tokenRequests, 1)
    } finally {
      await other.close()
    }
  })
})

describe('errors and retries', () => {
  test('a wrong password (3007) makes exactly 1 request and is not retried', async () => {
    service = await startFakeTokenService(answerError(400, '3007', "The account's password is invalid."))
    const { client, sleeps } = clientFor(service, { retries: 5 })
    const error = await rejectionOf(client.getToken())
    assert.equal(service.tokenRequests, 1)
    assert.deepEqual(sleeps, [])
    assert.equal(error.code, '3007')
    assert.equal(error.httpStatus, 400)
    assert.equal(error.retryable, false)
    assert.equal(error.message, "3007 The account's password is invalid.")
  })

  for (const code of ['3000', '3001', '3003', '3004', '3006', '3009', '3010']) {
    test(`${code} is never retried`, async () => {
      service = await startFakeTokenService(answerError(400, code, 'no'))
      const { client } = clientFor(service)
      assert.equal((await rejectionOf(client.getToken())).code, code)
      assert.equal(service.tokenRequests, 1)
    })
  }

  test('a failure never disables the client: the next call tries again', async () => {
    service = await startFakeTokenService(answerError(400, '3009', 'suspended'), issueToken())
    const { client } = clientFor(service)
    await rejectionOf(client.getToken())
    const token = await client.getToken()
    assert.equal(service.tokenRequests, 2)
    assert.equal(token.accessToken, service.issuedTokens[0])
  })

  test('400/3008 with Retry-After (seconds) waits what the service asked, then succeeds', async () => {
    service = await startFakeTokenService(answerError(400, '3008', 'too many', { 'retry-after': '2' }), issueToken())
    const retries: RetryEvent[] = []
    const { client, sleeps } = clientFor(service, { onRetry: (event) => retries.push(event) })
    await client.getToken()
    assert.equal(service.tokenRequests, 2)
    assert.deepEqual(sleeps, [2000])
    assert.equal(retries.length, 1)
    assert.equal(retries[0]!.error.code, '3008')
    assert.equal(retries[0]!.delayMs, 2000)
  })

  test('400/3008 with Retry-After as an HTTP date is honoured too', async () => {
    const when = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000).toUTCString()
    service = await startFakeTokenService(answerError(400, '3008', 'too many', { 'retry-after': when }), issueToken())
    const { client, sleeps } = clientFor(service)
    await client.getToken()
    assert.equal(sleeps.length, 1)
    assert.ok(sleeps[0]! > 3000 && sleeps[0]! <= 6000, `waited ${sleeps[0]} ms`)
  })

  test('500/9000 is retried with exponential backoff and full jitter, then thrown', async () => {
    service = await startFakeTokenService(answerError(500, '9000', 'Unknown error.'))
    const randoms = [0.5, 1, 0]
    const { client, sleeps } = clientFor(service, { retries: 3 }, { random: () => randoms.shift() ?? 0, baseBackoffMs: 200 })
    const error = await rejectionOf(client.getToken())
    assert.equal(service.tokenRequests, 4)
    assert.equal(error.code, '9000')
    assert.equal(error.httpStatus, 500)
    assert.equal(error.retryable, true)
    // ceilings 200, 400, 800 ms; full jitter picks random() * ceiling
    assert.deepEqual(sleeps, [100, 400, 0])
  })

  test('3011 and a 502 from a proxy with an HTML body are retried', async () => {
    service = await startFakeTokenService(answerError(400, '3011', 'x'), answerRaw(502, '<html>bad gateway</html>', 'text/html'), issueToken())
    const { client } = clientFor(service)
    await client.getToken()
    assert.equal(service.tokenRequests, 3)
  })

  test('connection resets are NETWORK errors, retried', async () => {
    service = await startFakeTokenService(resetConnection(), resetConnection(), issueToken())
    const { client } = clientFor(service)
    const token = await client.getToken()
    assert.equal(service.tokenRequests, 3)
    assert.equal(token.accessToken, service.issuedTokens[0])
    service.script(resetConnection())
    client.invalidate()
    const error = await rejectionOf(clientFor(service, { retries: 0 }).client.getToken())
    assert.equal(error.code, 'NETWORK')
    assert.equal(error.retryable, true)
    assert.equal(error.httpStatus, undefined)
  })

  test('a body cut in the middle is a failure, never a token', async () => {
    service = await startFakeTokenService(cutMidBody())
    const { client } = clientFor(service, { retries: 1 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, 'NETWORK')
    assert.equal(service.tokenRequests, 2)
  })

  test('a truncated or non-JSON 200 body is BAD_RESPONSE', async () => {
    for (const body of ['{"accesstoken":"abc","type":"Bea', '<html>ok</html>', '{"type":"Bearer","expired":"20991231235959"}', '{"accesstoken":"a","type":"Bearer","expired":"2099-12-31"}']) {
      service?.close()
      service = await startFakeTokenService((_request, response) => writeInChunks(response, 200, body, 2, 10))
      const { client } = clientFor(service)
      const error = await rejectionOf(client.getToken())
      assert.equal(error.code, 'BAD_RESPONSE', body)
      assert.equal(service.tokenRequests, 1, 'a malformed success is not retried')
    }
  })

  test('a server that never answers is a TIMEOUT after timeoutMs, retried', async () => {
    service = await startFakeTokenService(neverAnswer())
    const { client } = clientFor(service, { timeoutMs: 150, retries: 1 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, 'TIMEOUT')
    assert.equal(error.retryable, true)
    assert.equal(service.tokenRequests, 2)
  })

  test('the timeout covers the body: a body that stalls after the headers is a TIMEOUT', async () => {
    const stall: TokenBehaviour = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.write('{"accesstoken":')
    }
    service = await startFakeTokenService(stall)
    const { client } = clientFor(service, { timeoutMs: 150, retries: 0 })
    assert.equal((await rejectionOf(client.getToken())).code, 'TIMEOUT')
  })

  test('a Retry-After longer than the cap is not waited for', async () => {
    service = await startFakeTokenService(answerError(400, '3008', 'too many', { 'retry-after': '3600' }))
    const { client, sleeps } = clientFor(service)
    const error = await rejectionOf(client.getToken())
    assert.equal(error.retryAfterMs, 3_600_000)
    assert.deepEqual(sleeps, [])
    assert.equal(service.tokenRequests, 1)
  })

  test('a failed refresh while the old token still works returns the old token and reports the error', async () => {
    service = await startFakeTokenService(issueToken(), answerError(500, '9000', 'down'))
    let nowMs = Date.now()
    const reported: BizauthError[] = []
    const { client } = clientFor(service, { retries: 0, onRefreshError: (error) => reported.push(error) }, { now: () => nowMs })
    const first = await client.getToken()
    nowMs = first.expiresAt.getTime() - 1_800_000 // inside the margin, not expired
    assert.equal((await client.getToken()).accessToken, first.accessToken)
    assert.equal(reported.length, 1)
    assert.equal(reported[0]!.code, '9000')
    await client.getToken()
    assert.equal(service.tokenRequests, 2, 'a cooldown keeps the next calls from hammering the service')
  })

  test('hooks: onTokenIssued carries no token; a throwing hook does not break the client', async () => {
    service = await startFakeTokenService()
    const issued: unknown[] = []
    const { client } = clientFor(service, {
      onTokenIssued: (event) => { issued.push(event); throw new Error('logger down') },
    })
    const token = await client.getToken()
    assert.equal(issued.length, 1)
    assert.ok(!JSON.stringify(issued).includes(token.accessToken))
    assert.deepEqual(Object.keys(issued[0] as object).sort(), ['account', 'baseUrl', 'expired', 'expiresAt'])
  })
})

describe('client.fetch', () => {
  test('a 400/3002 in the middle of the token\'s life makes exactly 1 refresh and 1 retry', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    const before = await client.getToken()
    service.validTokens.delete(before.accessToken) // revoked mid-life
    const response = await client.fetch(`${service.url}/v3/message`, { method: 'POST', body: '{"hello":1}', headers: { 'content-type': 'application/json' } })
    assert.equal(response.status, 200)
    assert.equal(service.tokenRequests, 2)
    assert.equal(service.apiRequests, 2)
    assert.notEqual((await client.getToken()).accessToken, before.accessToken)
  })

  test('a second 3002 is thrown and never loops', async () => {
    service = await startFakeTokenService()
    service.rejectAllTokens = true
    const { client } = clientFor(service)
    const error = await rejectionOf(client.fetch(`${service.url}/v3/message`))
    assert.equal(error.code, '3002')
    assert.equal(error.httpStatus, 400)
    assert.equal(service.tokenRequests, 2)
    assert.equal(service.apiRequests, 2)
  })

  test('the retry works for a Request input with a body', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    service.validTokens.delete((await client.getToken()).accessToken)
    const response = await client.fetch(new Request(`${service.url}/v3/message`, { method: 'POST', body: 'payload' }))
    assert.equal(response.status, 200)
    assert.equal(service.tokenRequests, 2)
  })

  test('a stream body cannot be sent twice: the rejection is thrown as retryable and the token dropped', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    const before = await client.getToken()
    service.validTokens.delete(before.accessToken)
    const body = new ReadableStream({ start(controller) { controller.enqueue(new TextEncoder().encode('payload')); controller.close() } })
    const error = await rejectionOf(client.fetch(`${service.url}/v3/message`, { method: 'POST', body, duplex: 'half' } as RequestInit))
    assert.equal(error.code, '3002')
    assert.equal(error.retryable, true)
    assert.equal(service.apiRequests, 1)
    assert.notEqual((await client.getToken()).accessToken, before.accessToken)
    assert.equal(service.tokenRequests, 2)
  })

  test('other answers, 401 included, are returned untouched with their body unread', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service, {
      fetch: async (input, init) => {
        const url = String(input instanceof Request ? input.url : input)
        if (url.endsWith('/v1/token')) return fetch(input, init)
        if (url.endsWith('/unauthorized')) return new Response('{"code":"3002","description":"not ours"}', { status: 401 })
        return new Response('{"code":"2000","description":"message invalid"}', { status: 400 })
      },
    })
    const invalid = await client.fetch(`${service.url}/v3/message`)
    assert.equal(invalid.status, 400)
    assert.equal((await invalid.json()).code, '2000')
    const unauthorized = await client.fetch(`${service.url}/unauthorized`)
    assert.equal(unauthorized.status, 401)
    assert.equal((await unauthorized.json()).code, '3002')
    assert.equal(service.tokenRequests, 1, 'neither answer caused a refresh')
  })
})

describe('secrets', () => {
  test('the password and the token never appear in JSON.stringify, util.inspect or String of the client', async () => {
    service = await startFakeTokenService()
    const { client } = clientFor(service)
    const token = await client.getToken()
    for (const rendering of [JSON.stringify(client), inspect(client, { showHidden: true, depth: 10 }), String(client), `${client}`]) {
      assert.ok(!rendering.includes(PASSWORD), rendering)
      assert.ok(!rendering.includes(token.accessToken), rendering)
      assert.ok(rendering.includes('acme'), 'the account is shown, so that logs stay useful')
    }
  })

  test('a description that echoes the password is scrubbed', async () => {
    service = await startFakeTokenService(answerError(400, '3007', `bad password ${PASSWORD}`))
    const { client } = clientFor(service)
    const error = await rejectionOf(client.getToken())
    for (const rendering of [error.message, error.description, JSON.stringify(error), inspect(error)]) {
      assert.ok(!rendering.includes(PASSWORD), rendering)
    }
  })

  test('a JWT with an exp far in the future still expires with `expired`', async () => {
    service = await startFakeTokenService(issueToken({ lifetimeMs: 3_600_000, jwtExpSeconds: 4_102_444_800 }))
    const { client } = clientFor(service)
    const token = await client.getToken()
    assert.ok(token.expiresAt.getTime() < Date.now() + 3_700_000)
    assert.ok(makeJwt({}).split('.').length === 3)
  })
})
