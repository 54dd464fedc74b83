/**
 * Bounded hashing, lockout and the per-IP failure limit (issue 3 §2, §3): each answered 400/3008
 * with Retry-After; and the request-rate window on an explicit clock (its HTTP answer, 429/5002,
 * is in rate-limit.test.ts). Counted, never timed: the hash queue is held busy by a job the test
 * controls, and time-based limits run on an explicit clock.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Account } from '../src/store/store.js'
import { ContractError } from '../src/errors.js'
import { MemoryCounterStore } from '../src/limits/counter-store.js'
import { Limits, type LimitSettings } from '../src/limits/limits.js'
import { parseIpAddress } from '../src/net/cidr.js'
import { answerCode, type Answer, basic, startTestApp } from './helpers/app.js'
import { holdHashQueue } from './helpers/gates.js'
import { waitFor } from './helpers/wait-for.js'

const code = answerCode

function assertTooMany(response: Answer, retryAfter?: (seconds: number) => boolean): number {
  assert.equal(response.statusCode, 400, response.body)
  assert.equal(code(response), '3008')
  const header = response.headers['retry-after']
  assert.match(String(header), /^[1-9]\d*$/, `Retry-After is a positive whole number of seconds, got ${String(header)}`)
  const seconds = Number(header)
  if (retryAfter) assert.ok(retryAfter(seconds), `Retry-After ${seconds}`)
  return seconds
}

const ANYWHERE = ['0.0.0.0/0', '::/0']

describe('bounded password hashing', () => {
  it('answers 3008 with Retry-After at once when the queue is full (--hash-queue 0)', async (context) => {
    const t = await startTestApp({ hashConcurrency: 1, hashQueueMax: 0 })
    context.after(() => t.close())
    for (let i = 0; i < 5; i++) await t.createAccount(`cold${i}`, `pw${i}`)
    const held = holdHashQueue(t)
    // Answered while the queue is still held: nobody waited for a slot.
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => t.token(basic(`cold${i}`, `pw${i}`))))
    for (const answer of answers) assertTooMany(answer)
    assert.equal(t.services.hashQueue.waiting, 0)
    held.release()
    await held.done
    // A queue refusal is not a wrong password: nothing was counted against the accounts.
    assert.equal(code(await t.token(basic('cold0', 'pw0'))), '200')
  })

  it('lets --hash-queue requests wait and refuses the rest at once (--hash-concurrency 1, --hash-queue 1)', async (context) => {
    const t = await startTestApp({ hashConcurrency: 1, hashQueueMax: 1 })
    context.after(() => t.close())
    const N = 6
    for (let i = 0; i < N; i++) await t.createAccount(`cold${i}`, `pw${i}`)
    const held = holdHashQueue(t)
    const settled: Answer[] = []
    const all = Array.from({ length: N }, (_, i) => t.token(basic(`cold${i}`, `pw${i}`)).then((answer) => (settled.push(answer), answer)))
    await waitFor(() => (settled.length === N - 1 ? true : undefined), { intervalMs: 1, what: `${N - 1} requests to be refused` })
    for (const answer of settled) assertTooMany(answer)
    assert.equal(t.services.hashQueue.waiting, 1, 'exactly one request waits')
    held.release()
    const answers = await Promise.all(all)
    assert.equal(answers.filter((a) => a.statusCode === 200).length, 1)
    assert.equal(answers.filter((a) => code(a) === '3008').length, N - 1)
  })

  it('charges an unknown account exactly one argon2id check (the dummy hash), through the queue', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const { hasher, hashQueue } = t.services
    for (let i = 0; i < 3; i++) {
      const verifications = hasher.verifications
      const started = hashQueue.started
      assert.equal(code(await t.token(basic(`ghost${i}`, 'whatever'))), '3006')
      assert.equal(hasher.verifications - verifications, 1)
      assert.equal(hashQueue.started - started, 1)
    }
  })

  it('refuses an unknown account with 3008 too when the queue is full (its dummy check is queued like any other)', async (context) => {
    const t = await startTestApp({ hashConcurrency: 1, hashQueueMax: 0 })
    context.after(() => t.close())
    const held = holdHashQueue(t)
    assertTooMany(await t.token(basic('ghost', 'whatever')))
    held.release()
    await held.done
    assert.equal(code(await t.token(basic('ghost', 'whatever'))), '3006')
  })
})

describe('per-account lockout', () => {
  it('locks after 10 wrong passwords for 60 s; even the right password then gets 3008 without hashing', async (context) => {
    const t = await startTestApp({ ipFailureLimit: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    for (let i = 0; i < 10; i++) assert.equal(code(await t.token(basic('acme', `wrong${i}`))), '3007', `attempt ${i + 1}`)
    const verifications = t.services.hasher.verifications
    assertTooMany(await t.token(basic('acme', 'right')), (s) => s > 55 && s <= 60)
    assertTooMany(await t.token(basic('acme', 'wrong again')))
    assert.equal(t.services.hasher.verifications, verifications, 'a locked account costs no argon2id')
    // Another account is untouched.
    await t.createAccount('other', 'pw')
    assert.equal(code(await t.token(basic('other', 'pw'))), '200')
  })

  it('honours --lockout-threshold and doubles the lock on each repeat up to --lockout-max-seconds (explicit clock)', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 3, lockoutBaseSeconds: 60, lockoutMaxSeconds: 200, ipFailureLimit: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    const ip = parseIpAddress('192.0.2.1')
    const authenticate = async (password: string, now: number): Promise<Account> => (await t.services.authenticator.authenticate({ account: 'acme', password }, ip, now)).account
    const failure = async (promise: Promise<unknown>): Promise<ContractError> => {
      try {
        await promise
      } catch (error) {
        assert.ok(error instanceof ContractError)
        return error
      }
      throw new Error('expected a refusal')
    }

    let now = Date.now()
    const expected = [60, 120, 200, 200]
    for (const lockSeconds of expected) {
      for (let i = 0; i < 3; i++) assert.equal((await failure(authenticate('wrong', now))).code, '3007')
      const locked = await failure(authenticate('right', now))
      assert.equal(locked.code, '3008')
      assert.equal(locked.retryAfterSeconds, lockSeconds)
      assert.equal((await failure(authenticate('right', now + lockSeconds * 1000 - 1))).code, '3008', 'still locked 1 ms before the end')
      now += lockSeconds * 1000
    }
    // After the last lock the right password works, and a success resets the failure count:
    assert.equal((await authenticate('right', now)).id, 'acme')
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 2; i++) assert.equal((await failure(authenticate('wrong', now))).code, '3007')
      assert.equal((await authenticate('right', now)).id, 'acme', `round ${round}: 2 failures then a success never lock`)
    }
  })

  it('a success resets the count (9 wrong, right, 9 wrong: never locked)', async (context) => {
    const t = await startTestApp({ ipFailureLimit: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    for (let i = 0; i < 9; i++) assert.equal(code(await t.token(basic('acme', 'wrong'))), '3007')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
    for (let i = 0; i < 9; i++) assert.equal(code(await t.token(basic('acme', 'wrong'))), '3007')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
  })

  it('never locks with --lockout-threshold 0', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    for (let i = 0; i < 15; i++) assert.equal(code(await t.token(basic('acme', 'wrong'))), '3007')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
  })
})

describe('per-IP failure limit', () => {
  /** 30 failures of every kind the request path knows. */
  function failures(): Array<string | undefined> {
    const kinds: Array<string | undefined> = [
      undefined, // no header: 3001
      'Bearer abc', // wrong scheme: 3001
      basic('bad id!', 'pw'), // 3004
      basic('acme', 'wrong'), // 3007
    ]
    return Array.from({ length: 30 }, (_, i) => (i % 5 === 4 ? basic(`ghost${i}`, 'pw') /* 3006 */ : kinds[i % 5]))
  }

  it('blocks a client IP after 30 failures of any kind within the window, and only that IP', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    const from = (remoteAddress: string, authorization: string | undefined) => t.token(authorization, { remoteAddress })

    for (const authorization of failures()) assert.notEqual(code(await from('198.51.100.7', authorization)), '3008')
    const verifications = t.services.hasher.verifications
    assertTooMany(await from('198.51.100.7', basic('acme', 'right')), (s) => s > 295 && s <= 300)
    assertTooMany(await from('198.51.100.7', basic('ghost', 'pw')))
    assert.equal(t.services.hasher.verifications, verifications, 'a blocked IP costs no argon2id')
    assert.equal(code(await from('198.51.100.8', basic('acme', 'right'))), '200', 'a neighbour is not blocked')
    assert.equal(code(await from('::ffff:198.51.100.7', basic('acme', 'right'))), '3008', 'nor can the blocked IP hide behind its IPv4-mapped form')
  })

  it('counts the forwarded client IP behind a trusted proxy (--trust-proxy, X-Forwarded-For)', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, trustProxy: [(await import('../src/net/cidr.js')).parseCidr('10.0.0.0/8')] })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    const via = (client: string, authorization: string | undefined) =>
      t.token(authorization, { remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': `${client}, 10.9.9.9` } })

    for (const authorization of failures()) assert.notEqual(code(await via('203.0.113.9', authorization)), '3008')
    assertTooMany(await via('203.0.113.9', basic('acme', 'right')))
    assert.equal(code(await via('203.0.113.10', basic('acme', 'right'))), '200', 'another client behind the same proxy')
    assert.equal(code(await t.token(basic('acme', 'right'), { remoteAddress: '10.1.2.3' })), '200', 'the proxy itself')
  })

  it('counts an IPv6 client by its /64, so rotating addresses inside it does not escape the limit', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 5 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    for (let i = 1; i <= 5; i++) await t.token(basic('acme', 'wrong'), { remoteAddress: `2001:db8:aa:bb::${i.toString(16)}` })
    assertTooMany(await t.token(basic('acme', 'right'), { remoteAddress: '2001:db8:aa:bb:ffff::9' }))
    assert.equal(code(await t.token(basic('acme', 'right'), { remoteAddress: '2001:db8:aa:bc::1' })), '200', 'the next /64 is another client')
  })

  it('ignores X-Forwarded-For from an untrusted peer: the peer is what is limited', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 5 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    // Rotating the header does not spread the failures over many IPs.
    for (let i = 0; i < 5; i++) await t.token(basic('acme', 'wrong'), { remoteAddress: '192.0.2.50', headers: { 'x-forwarded-for': `203.0.113.${i}` } })
    assertTooMany(await t.token(basic('acme', 'right'), { remoteAddress: '192.0.2.50', headers: { 'x-forwarded-for': '203.0.113.200' } }))
  })

  it('forgets failures after the window and lifts the block after --ip-block-seconds (explicit clock)', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 4, ipFailureWindowSeconds: 60, ipBlockSeconds: 120 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ANYWHERE })
    const ip = parseIpAddress('192.0.2.9')
    const attempt = async (password: string, now: number): Promise<string> => {
      try {
        await t.services.authenticator.authenticate({ account: 'acme', password }, ip, now)
        return 'ok'
      } catch (error) {
        return (error as ContractError).code
      }
    }
    const t0 = Date.now()
    for (let i = 0; i < 3; i++) assert.equal(await attempt('wrong', t0), '3007')
    // The window (60 s from the first failure) ends: three more fit before the limit.
    for (let i = 0; i < 3; i++) assert.equal(await attempt('wrong', t0 + 60_000), '3007')
    assert.equal(await attempt('right', t0 + 60_000), 'ok')
    assert.equal(await attempt('wrong', t0 + 60_000), '3007') // the 4th in this window: blocked from now
    assert.equal(await attempt('right', t0 + 60_000), '3008')
    assert.equal(await attempt('right', t0 + 60_000 + 119_999), '3008')
    assert.equal(await attempt('right', t0 + 60_000 + 120_000), 'ok')
  })

  it('never blocks with --ip-failure-limit 0', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 0, ipFailureLimit: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    for (let i = 0; i < 40; i++) assert.equal(code(await t.token('Basic !!!')), '3001')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
  })
})

describe('Limits and MemoryCounterStore on an explicit clock', () => {
  const settings: LimitSettings = {
    lockoutThreshold: 2,
    lockoutBaseSeconds: 10,
    lockoutMaxSeconds: 25,
    ipFailureLimit: 2,
    ipFailureWindowSeconds: 5,
    ipBlockSeconds: 7,
    rateLimit: 3,
    rateLimitWindowSeconds: 10,
  }
  /** A wrong password as the authenticator records one: reserved before the check, then failed. */
  const wrongPassword = async (limits: Limits, key: string, now: number): Promise<void> => {
    assert.equal(await limits.reservePasswordCheck(key, now), 0, 'the check was admitted')
    await limits.recordPasswordFailure(key, now)
  }

  it('counts requests in a fixed window per account: remaining, the reset, and a new window', async () => {
    const limits = new Limits(new MemoryCounterStore(), settings)
    const t0 = 1_000_000
    const seen = []
    for (let i = 0; i < 5; i++) seen.push(await limits.countRequest('a', t0 + i * 1000))
    assert.deepEqual(seen, [
      { limit: 3, remaining: 2, resetInMs: 10_000, exceeded: false },
      { limit: 3, remaining: 1, resetInMs: 9_000, exceeded: false },
      { limit: 3, remaining: 0, resetInMs: 8_000, exceeded: false },
      { limit: 3, remaining: 0, resetInMs: 7_000, exceeded: true },
      { limit: 3, remaining: 0, resetInMs: 6_000, exceeded: true },
    ])
    assert.equal((await limits.countRequest('b', t0 + 9_999))!.exceeded, false, 'per account')
    assert.equal((await limits.countRequest('a', t0 + 9_999))!.resetInMs, 1, 'refusals never push the reset back')
    assert.deepEqual(await limits.countRequest('a', t0 + 10_000), { limit: 3, remaining: 2, resetInMs: 10_000, exceeded: false })
    assert.equal(await new Limits(new MemoryCounterStore(), { ...settings, rateLimit: 0 }).countRequest('a', t0), undefined, 'off')
  })

  it('caps the lock at the maximum however often it repeats', async () => {
    const limits = new Limits(new MemoryCounterStore(), settings)
    let now = 0
    const seen: number[] = []
    for (let round = 0; round < 5; round++) {
      await wrongPassword(limits, 'a', now)
      await wrongPassword(limits, 'a', now)
      const locked = (await limits.accountStanding('a', now)).wait
      seen.push(locked)
      now += locked * 1000
      assert.equal((await limits.accountStanding('a', now)).wait, 0)
    }
    assert.deepEqual(seen, [10, 20, 25, 25, 25])
  })

  it('keeps the counter store at its maximum size under a flood of distinct keys', async () => {
    const counters = new MemoryCounterStore(100)
    const limits = new Limits(counters, settings)
    for (let i = 0; i < 5_000; i++) await limits.recordIpFailure(`198.51.${i >> 8}.${i & 255}`, 0)
    assert.ok(counters.size <= 100, `size ${counters.size}`)
  })

  it('never lets a flood of client addresses wipe an account\'s lockout (eviction stays within the flooded kind)', async () => {
    const counters = new MemoryCounterStore(100)
    const limits = new Limits(counters, { ...settings, ipFailureLimit: 1_000 })
    await wrongPassword(limits, 'victim', 0)
    await wrongPassword(limits, 'victim', 0)
    assert.equal((await limits.accountStanding('victim', 0)).wait, 10)
    // An attacker with many addresses (one IPv6 /64 holds 2^64) fails cheaply from each of them.
    for (let i = 0; i < 5_000; i++) await limits.recordIpFailure(`2001:db8::${i.toString(16)}`, 0)
    assert.ok(counters.size <= 100, `size ${counters.size}`)
    assert.equal((await limits.accountStanding('victim', 0)).wait, 10, 'still locked')
    // and the lock level survived too: the next lock doubles.
    await wrongPassword(limits, 'victim', 10_000)
    await wrongPassword(limits, 'victim', 10_000)
    assert.equal((await limits.accountStanding('victim', 10_000)).wait, 20)
  })

  it('expires counters at the end of their window, not before', async () => {
    const counters = new MemoryCounterStore()
    assert.equal(await counters.increment('k', 1000, 0), 1)
    assert.equal(await counters.increment('k', 1000, 999), 2)
    assert.equal(await counters.increment('k', 1000, 1000), 1)
    await counters.set('v', 42, 500, 0)
    assert.equal(await counters.get('v', 499), 42)
    assert.equal(await counters.get('v', 500), 0)
  })
})
