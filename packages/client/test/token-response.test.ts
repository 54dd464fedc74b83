import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { BizauthError } from '../src/errors.js'
import { formatKstTimestamp, parseKstTimestamp } from '../src/kst.js'
import { parseTokenAnswer } from '../src/token-response.js'
import { makeJwt } from './support/fake-token-service.js'

const NOW = Date.UTC(2024, 0, 1)

test('a contract answer becomes a token whose expiry is the KST instant', () => {
  const token = parseTokenAnswer({ status: 200, bodyText: '{"accesstoken":"opaque-token","type":"Bearer","expired":"20201110185520"}' }, NOW)
  assert.deepEqual(token, { accessToken: 'opaque-token', type: 'Bearer', expired: '20201110185520', expiresAtMs: Date.UTC(2020, 10, 10, 9, 55, 20), receivedAtMs: NOW })
})

test('the JWT exp wins when it is earlier; a later exp does not extend `expired`', () => {
  const expired = '20240102090000' // 2024-01-02 00:00 UTC
  const early = makeJwt({ exp: Date.UTC(2024, 0, 1, 12) / 1000 })
  const late = makeJwt({ exp: Date.UTC(2024, 0, 3) / 1000 })
  const body = (token: string) => JSON.stringify({ accesstoken: token, type: 'Bearer', expired })
  assert.equal(parseTokenAnswer({ status: 200, bodyText: body(early) }, NOW).expiresAtMs, Date.UTC(2024, 0, 1, 12))
  assert.equal(parseTokenAnswer({ status: 200, bodyText: body(late) }, NOW).expiresAtMs, Date.UTC(2024, 0, 2))
})

test('error answers carry the contract code, status and description', () => {
  const error = catchError(() => parseTokenAnswer({ status: 400, bodyText: '{"code":"3008","description":"too many"}', retryAfterMs: 1000 }, NOW))
  assert.equal(error.code, '3008')
  assert.equal(error.httpStatus, 400)
  assert.equal(error.retryable, true)
  assert.equal(error.retryAfterMs, 1000)
})

test('property: any status and body gives a complete token or a BizauthError, never anything else', () => {
  const validExpired = fc.integer({ min: 0, max: 4_102_444_800_000 }).map(formatKstTimestamp)
  const plausibleObject = fc.record(
    {
      accesstoken: fc.oneof(fc.string(), fc.constant(makeJwt({ exp: 1 })), fc.integer(), fc.constant(null)),
      type: fc.oneof(fc.constantFrom('Bearer', 'bearer', 'Basic', ''), fc.integer()),
      expired: fc.oneof(validExpired, fc.string(), fc.integer()),
      code: fc.oneof(fc.constantFrom('3002', '3007', '9000', ''), fc.integer()),
      description: fc.oneof(fc.string(), fc.constant(undefined)),
    },
    { requiredKeys: [] },
  )
  const body = fc.oneof(
    fc.string(),
    fc.json(),
    plausibleObject.map((value) => JSON.stringify(value)),
    plausibleObject.map((value) => JSON.stringify(value)).chain((text) => fc.nat({ max: text.length }).map((cut) => text.slice(0, cut))),
  )
  fc.assert(
    fc.property(fc.oneof(fc.constant(200), fc.integer({ min: 100, max: 599 })), body, (status, bodyText) => {
      let token
      try {
        token = parseTokenAnswer({ status, bodyText }, NOW)
      } catch (error) {
        assert.ok(error instanceof BizauthError, `threw ${String(error)}`)
        assert.equal(typeof error.code, 'string')
        assert.ok(error.code.length > 0)
        assert.equal(error.httpStatus, status)
        return
      }
      assert.equal(status, 200)
      assert.ok(token.accessToken.length > 0)
      assert.equal(token.type, 'Bearer')
      assert.equal(parseKstTimestamp(token.expired) !== undefined, true)
      assert.ok(Number.isFinite(token.expiresAtMs))
    }),
    { numRuns: 3000 },
  )
})

function catchError(run: () => unknown): BizauthError {
  try {
    run()
  } catch (error) {
    assert.ok(error instanceof BizauthError)
    return error
  }
  assert.fail('expected a BizauthError')
}
