/**
 * The API rate limit as the client meets it (contract.md §6), against a real local node:http
 * server: 429 and code 5002 (a number on the rate-limit page, a string in our server's answers)
 * are retried, after `Retry-After` (seconds or an HTTP date), else `RateLimit-Reset` (decimal
 * seconds), else the backoff, within the cap. Waits are recorded by the injected sleep, never slept.
 */
import { afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { isRetryable } from '../src/errors.js'
import { parseRateLimitResetMs } from '../src/retry-after.js'
import type { RetryEvent } from '../src/retry.js'
import { TokenClient, type TokenClientInternals, type TokenClientOptions } from '../src/token-client.js'
import { rejectionOf } from './support/rejection.js'
import { answerBody, answerError, issueToken, startFakeTokenService, type FakeTokenService } from './support/fake-token-service.js'

let service: FakeTokenService | undefined

afterEach(async () => {
  await service?.close()
  service = undefined
})

function clientFor(svc: FakeTokenService, options: Partial<TokenClientOptions> = {}, internals: TokenClientInternals = {}): { client: TokenClient; sleeps: number[]; retries: RetryEvent[] } {
  const sleeps: number[] = []
  const retries: RetryEvent[] = []
  const client = new TokenClient(
    { account: 'acme', password: 'pw-never-printed', baseUrl: svc.url, onRetry: (event) => retries.push(event), ...options },
    { sleep: async (ms) => { sleeps.push(ms) }, random: () => 0.5, baseBackoffMs: 200, ...internals },
  )
  return { client, sleeps, retries }
}

const PAGE_BODY = { code: 5002, description: 'too many requests' } // the page's sample: a number
const OUR_BODY = { code: '5002', description: 'too many requests' } // our server's: a string
const WINDOW = { 'ratelimit-limit': '1000', 'ratelimit-remaining': '0', 'ratelimit-reset': '0.299' }

describe('429 / 5002 is retried and then succeeds', () => {
  for (const [form, body] of [['a number', PAGE_BODY], ['a string', OUR_BODY]] as const) {
    test(`429 with code 5002 as ${form}, waiting Retry-After`, async () => {
      service = await startFakeTokenService(answerBody(429, body, { ...WINDOW, 'retry-after': '1' }), issueToken())
      const { client, sleeps, retries } = clientFor(service)
      const token = await client.getToken()
      assert.equal(token.accessToken, service.issuedTokens[0])
      assert.equal(service.tokenRequests, 2)
      assert.deepEqual(sleeps, [1000], 'Retry-After wins over RateLimit-Reset')
      assert.equal(retries[0]!.error.code, '5002')
      assert.equal(retries[0]!.error.httpStatus, 429)
    })

    test(`429 with code 5002 as ${form} and no Retry-After waits RateLimit-Reset (decimal seconds)`, async () => {
      service = await startFakeTokenService(answerBody(429, body, WINDOW), answerBody(429, body, { ...WINDOW, 'ratelimit-reset': '2' }), issueToken())
      const { client, sleeps } = clientFor(service)
      await client.getToken()
      assert.equal(service.tokenRequests, 3)
      assert.deepEqual(sleeps, [299, 2000])
    })
  }

  test('a Retry-After given as an HTTP date is honoured on a 429', async () => {
    const when = new Date(Math.ceil(Date.now() / 1000) * 1000 + 5000).toUTCString()
    service = await startFakeTokenService(answerBody(429, PAGE_BODY, { 'retry-after': when }), issueToken())
    const { client, sleeps } = clientFor(service)
    await client.getToken()
    assert.equal(sleeps.length, 1)
    assert.ok(sleeps[0]! > 3000 && sleeps[0]! <= 6000, `waited ${sleeps[0]} ms`)
  })

  test('a 429 with neither header falls back to the backoff; so does a 5002 under another status', async () => {
    service = await startFakeTokenService(answerBody(429, PAGE_BODY), answerBody(400, PAGE_BODY), issueToken())
    const { client, sleeps } = clientFor(service)
    await client.getToken()
    assert.equal(service.tokenRequests, 3)
    assert.deepEqual(sleeps, [100, 200], 'full jitter at 0.5 of 200 ms, then of 400 ms')
  })

  test('a 429 whose body is not the contract\'s (a proxy) is retried too', async () => {
    service = await startFakeTokenService(answerBody(429, { error: 'slow down' }, { 'ratelimit-reset': '0.5' }), issueToken())
    const { client, sleeps } = clientFor(service)
    await client.getToken()
    assert.deepEqual(sleeps, [500])
  })
})

describe('what is not a rate-limit wait', () => {
  test('a non-retryable code is not retried, whatever RateLimit headers it carries', async () => {
    service = await startFakeTokenService(answerError(400, '3007', "The account's password is invalid.", WINDOW))
    const { client, sleeps } = clientFor(service, { retries: 5 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, '3007')
    assert.equal(error.retryable, false)
    assert.equal(service.tokenRequests, 1)
    assert.deepEqual(sleeps, [])
  })

  test('a 9000 carrying RateLimit-Reset (as any answer to a known account may) backs off, not waiting for the window', async () => {
    service = await startFakeTokenService(answerError(500, '9000', 'Unknown error.', { ...WINDOW, 'ratelimit-remaining': '500', 'ratelimit-reset': '42' }), issueToken())
    const { client, sleeps } = clientFor(service)
    await client.getToken()
    assert.deepEqual(sleeps, [100])
  })

  test('a RateLimit-Reset beyond the cap is not waited for: the 5002 goes to the caller', async () => {
    service = await startFakeTokenService(answerBody(429, PAGE_BODY, { ...WINDOW, 'ratelimit-reset': '3600' }))
    const { client, sleeps } = clientFor(service, {}, { maxRetryAfterMs: 60_000 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, '5002')
    assert.equal(error.retryable, true)
    assert.equal(error.retryAfterMs, 3_600_000)
    assert.deepEqual(sleeps, [])
    assert.equal(service.tokenRequests, 1)
  })

  test('the retries still run out: 429 after 429 stops after `retries` waits', async () => {
    service = await startFakeTokenService(answerBody(429, OUR_BODY, WINDOW))
    const { client, sleeps } = clientFor(service, { retries: 2 })
    assert.equal((await rejectionOf(client.getToken())).code, '5002')
    assert.equal(service.tokenRequests, 3)
    assert.deepEqual(sleeps, [299, 299])
  })
})

describe('the rules, alone', () => {
  test('isRetryable: 5002 under any status, and 429 under any code', () => {
    assert.equal(isRetryable('5002', 429), true)
    assert.equal(isRetryable('5002', 400), true)
    assert.equal(isRetryable('5002', undefined), true)
    assert.equal(isRetryable('BAD_RESPONSE', 429), true)
    assert.equal(isRetryable('3007', 400), false)
    assert.equal(isRetryable('5001', 400), false)
  })

  test('parseRateLimitResetMs: decimal seconds, rounded up to the millisecond; anything else is no wait', () => {
    assert.equal(parseRateLimitResetMs('0.299'), 299)
    assert.equal(parseRateLimitResetMs(' 60 '), 60_000)
    assert.equal(parseRateLimitResetMs('0.0001'), 1)
    assert.equal(parseRateLimitResetMs('0'), 0)
    for (const bad of [null, undefined, '', '-1', '1e3', '.5', '5.', 'soon', '0x10', 'Infinity', 'NaN', '1,5']) {
      assert.equal(parseRateLimitResetMs(bad), undefined, String(bad))
    }
  })

  test('property: parseRateLimitResetMs never throws and gives undefined or a whole, non-negative, finite wait', () => {
    const decimal = fc.tuple(fc.nat({ max: 1_000_000 }), fc.nat({ max: 999 })).map(([s, ms]) => ({ text: `${s}.${String(ms).padStart(3, '0')}`, ms: s * 1000 + ms }))
    fc.assert(
      fc.property(decimal, ({ text, ms }) => {
        assert.equal(parseRateLimitResetMs(text), ms)
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9.eE+\- ]{0,40}$/), fc.stringMatching(/^\d{1,12}(\.\d{1,20})?$/)), (text) => {
        const ms = parseRateLimitResetMs(text)
        if (ms === undefined) return
        assert.ok(Number.isSafeInteger(ms) && ms >= 0, `${JSON.stringify(text)} -> ${ms}`)
        // Never earlier than the header says, and at most a millisecond later (the rounding up).
        const exact = Number(text) * 1000
        assert.ok(ms >= Math.floor(exact) && ms <= Math.ceil(exact) + 1, `${JSON.stringify(text)} -> ${ms}`)
      }),
      { numRuns: 3000 },
    )
  })
})
