/**
 * The races on the authentication path (issue 13 §1, §2, §5 "deleted and re-created in the same
 * second"), made deterministic: a request is parked in the hash queue by a gate the test holds,
 * a second is frozen by mocking Date, and argon2id work is counted, never timed.
 *
 * §1: a token asked for before a revoking change and issued after it must not be valid. Each
 * change is made through the administration service (what the CLI and the admin API call), on a
 * store the server shares, while the request waits for the queue; once released, the answer must
 * be a refusal, or a token that introspection and a @bizauth/verify verifier following the
 * revocations feed both refuse. The suite runs on SQLite, and on PostgreSQL when
 * BIZAUTH_TEST_DATABASE_URL is set.
 *
 * §2: a burst of concurrent guesses may start at most `lockoutThreshold` argon2id checks per
 * account and `ipFailureLimit` per address, and nothing inside the burst gets a token.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it, type TestContext } from 'node:test'
import { createVerifier, type Verifier } from '@bizauth/verify'
import { AccountAdministration } from '../src/accounts/administration.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { answerCode, basic, decodeJwtPart, FAST_ARGON2, startTestApp, type TestApp } from './helpers/app.js'
import { counted, holdHashQueue, untilHashQueueWaiting } from './helpers/gates.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'

const code = answerCode
/** The administration's own hasher: the server's queue is held, and a CLI hashes in its own process. */
const adminHasher = new PasswordHasher(FAST_ARGON2)
const RS = { account: 'rs', password: 'rs-pw' }
const OLD_PASSWORD = 'old-password'

interface Harness {
  t: TestApp
  baseUrl: string
  admin: AccountAdministration
}

async function openHarness(databaseUrl: string | undefined): Promise<Harness> {
  const t = await startTestApp({}, databaseUrl === undefined ? {} : { databaseUrl })
  await t.createAccount(RS.account, RS.password, { roles: ['introspect'] })
  const baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 })
  // Like a CLI in another process: no hook into the server's cache, only the shared store.
  return { t, baseUrl, admin: new AccountAdministration({ store: t.store, hasher: adminHasher, audit: t.services.auditWriter({ type: 'cli', id: 'test' }) }) }
}

function accessToken(response: { statusCode: number; body: string }): string {
  assert.equal(response.statusCode, 200, response.body)
  return String((JSON.parse(response.body) as { accesstoken: string }).accesstoken)
}

async function issue(h: Harness, id: string, password: string): Promise<string> {
  return accessToken(await h.t.token(basic(id, password)))
}

/** The introspection answer's body, parsed: `{active:false}` exactly for a dead token. */
async function introspection(h: Harness, token: string): Promise<Record<string, unknown>> {
  const response = await h.t.app.inject({
    method: 'POST',
    url: '/v1/token/introspect',
    headers: { authorization: basic(RS.account, RS.password), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${encodeURIComponent(token)}`,
  })
  assert.equal(response.statusCode, 200, response.body)
  return JSON.parse(response.body) as Record<string, unknown>
}

/**
 * A verifier created now: its first verify() waits for the feed's first snapshot, so it knows
 * every revocation committed before this call, with no polling interval to wait out.
 */
function freshVerifier(h: Harness, context: TestContext): Verifier {
  const verifier = createVerifier({
    issuer: h.t.config.issuer,
    jwksUrl: `${h.baseUrl}/.well-known/jwks.json`,
    revocations: { url: h.baseUrl, credentials: RS },
  })
  context.after(() => verifier.close())
  return verifier
}

async function verifierRefusal(verifier: Verifier, token: string): Promise<string> {
  try {
    const claims = await verifier(`Bearer ${token}`)
    return `accepted (sub ${claims.sub})`
  } catch (error) {
    return String((error as { code?: unknown }).code)
  }
}

async function assertDead(h: Harness, context: TestContext, token: string, what: string): Promise<void> {
  assert.deepEqual(await introspection(h, token), { active: false }, `introspection of ${what}`)
  assert.equal(await verifierRefusal(freshVerifier(h, context), token), '3002', `the verifier on ${what}`)
}

async function assertLive(h: Harness, context: TestContext, token: string, id: string, what: string): Promise<void> {
  const answer = await introspection(h, token)
  assert.equal(answer.active, true, `introspection of ${what}: ${JSON.stringify(answer)}`)
  assert.equal(answer.sub, id)
  assert.equal((await freshVerifier(h, context)(`Bearer ${token}`)).sub, id, `the verifier on ${what}`)
}

/**
 * §1's four steps for one change: a cold request with the old password waits in the held hash
 * queue; `change` commits; the queue is released. Returns the request's answer.
 *
 * While the request waits, the clock moves on by a second (Date is mocked from the change on),
 * as it did in the reproduction (tokens arrived 0.2-1.5 s after the change): a token signed with
 * the clock at signing would carry iat = the change's valid-after instant and live, whereas one
 * whose iat is the instant the account was read is revoked by the change.
 */
async function requestAcrossChange(h: Harness, context: TestContext, id: string, change: () => Promise<unknown>) {
  await h.t.createAccount(id, OLD_PASSWORD) // a fresh account: nothing in the credential cache
  const held = holdHashQueue(h.t)
  const answer = h.t.token(basic(id, OLD_PASSWORD))
  await untilHashQueueWaiting(h.t)
  context.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  try {
    await change()
    context.mock.timers.tick(1000)
    held.release()
    await held.done
    return await answer
  } finally {
    context.mock.timers.reset()
  }
}

/** The answer is one of `refusals`, or a token that nothing accepts. */
async function assertNoLiveToken(h: Harness, context: TestContext, response: { statusCode: number; body: string }, refusals: string[]): Promise<void> {
  context.diagnostic(`answer across the change: ${response.statusCode === 200 ? 'a token' : code(response)}`)
  if (response.statusCode !== 200) {
    assert.ok(refusals.includes(code(response)), `expected one of ${refusals.join('/')} or a dead token, got ${response.statusCode} ${response.body}`)
    return
  }
  await assertDead(h, context, accessToken(response), 'the token issued across the change')
}

function racesSuite(open: () => Promise<Harness>, close: () => Promise<void>): void {
  let h: Harness
  before(async () => {
    h = await open()
  })
  after(async () => {
    await h?.t.close()
    await close()
  })

  describe('§1: a token asked for before a revoking change is not valid after it', () => {
    it('set-password: the old password waiting for the hash queue gets no live token', async (context) => {
      const id = 'race-password'
      const response = await requestAcrossChange(h, context, id, () => h.admin.setPassword(id, 'new-password'))
      await assertNoLiveToken(h, context, response, ['3007'])
      await assertLive(h, context, await issue(h, id, 'new-password'), id, 'a token of the new password')
    })

    it('suspend: the waiting request gets no live token for a suspended account', async (context) => {
      const id = 'race-suspend'
      const response = await requestAcrossChange(h, context, id, () => h.admin.suspend(id))
      await assertNoLiveToken(h, context, response, ['3009'])
      assert.equal(code(await h.t.token(basic(id, OLD_PASSWORD))), '3009', 'and the account stays refused')
    })

    it('revoke-tokens: the token issued after the revocation is revoked by it', async (context) => {
      const id = 'race-revoke'
      const response = await requestAcrossChange(h, context, id, () => h.admin.revokeTokens(id))
      // No refusal is right here (the password still is): the only acceptable answer is a dead token.
      await assertNoLiveToken(h, context, response, [])
      await assertLive(h, context, await issue(h, id, OLD_PASSWORD), id, 'a token asked for after the revocation')
    })

    it('delete: the waiting request gets no live token for a deleted account', async (context) => {
      const id = 'race-delete'
      const response = await requestAcrossChange(h, context, id, () => h.admin.delete(id))
      await assertNoLiveToken(h, context, response, ['3006'])
      assert.equal(code(await h.t.token(basic(id, OLD_PASSWORD))), '3006')
    })

    it('deny-ip: the waiting request is decided on the allow-list now stored (no token: deny-ip revokes none)', async (context) => {
      const id = 'race-deny-ip'
      const response = await requestAcrossChange(h, context, id, () => h.admin.denyIp(id, '127.0.0.1'))
      assert.equal(code(response), '3000', response.body)
    })

    it('two revoke-tokens in the same second: a token issued between them is revoked by the second', async (context) => {
      const id = 'twice-revoked'
      await h.t.createAccount(id, OLD_PASSWORD)
      // One frozen instant for the server and the administration alike: both revocations ask for
      // the same valid-after second, and the token between them is issued within it.
      context.mock.timers.enable({ apis: ['Date'], now: Date.now() })
      const first = await h.admin.revokeTokens(id)
      const between = await issue(h, id, OLD_PASSWORD)
      assert.equal(decodeJwtPart(between, 1).iat, first.revocation!.validAfter, 'issued in the second the first revocation starts')
      const second = await h.admin.revokeTokens(id)
      assert.ok(second.revocation!.validAfter > first.revocation!.validAfter, `valid-after moved on: ${first.revocation!.validAfter} -> ${second.revocation!.validAfter}`)
      const afterBoth = await issue(h, id, OLD_PASSWORD)
      context.mock.timers.reset()
      await assertDead(h, context, between, 'the token issued between the revocations')
      await assertLive(h, context, afterBoth, id, 'a token issued after both')
    })
  })

  describe('§5: deleted and re-created in the same second', () => {
    it('the new account\'s first token is valid; the predecessor\'s tokens stay revoked', async (context) => {
      const id = 'reborn'
      context.mock.timers.enable({ apis: ['Date'], now: Date.now() })
      await h.admin.create({ id, password: 'first-life', allowedIps: ['127.0.0.1'] })
      const predecessor = await issue(h, id, 'first-life')
      const deleted = await h.admin.delete(id)
      await h.admin.create({ id, password: 'second-life', allowedIps: ['127.0.0.1'] })
      const successor = await issue(h, id, 'second-life')
      context.mock.timers.reset()
      // All in one (frozen) second s: the deletion revokes from s + 1, and the successor's first
      // token, asked for in s, starts there instead of being dead on arrival.
      const validAfter = deleted.revocation!.validAfter
      assert.ok(Number(decodeJwtPart(predecessor, 1).iat) < validAfter)
      assert.equal(decodeJwtPart(successor, 1).iat, validAfter)
      await assertLive(h, context, successor, id, 'the re-created account\'s token')
      await assertDead(h, context, predecessor, 'the deleted account\'s token')
      assert.equal(code(await h.t.token(basic(id, 'first-life'))), '3007', 'the old password is gone with the old account')
    })
  })
}

describe('races on SQLite', () => {
  racesSuite(
    () => openHarness(undefined),
    async () => undefined,
  )
})

describe('races on PostgreSQL', { skip: await postgresSkipReason() }, () => {
  let database: PostgresTestDatabase | undefined
  racesSuite(
    async () => {
      database = await withPostgresDatabase()
      return openHarness(database.url)
    },
    async () => {
      await database?.drop()
    },
  )
})

describe('§2: concurrent guesses cannot outrun the lockout or the per-IP limit (defaults: threshold 10, 30 per IP)', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp()
    assert.equal(t.config.lockoutThreshold, 10)
    assert.equal(t.config.ipFailureLimit, 30)
  })
  after(() => t?.close())

  /** `size` concurrent requests for `id` from one address, distinct wrong passwords, the right one at `rightAt`. */
  async function burst(id: string, size: number, rightAt: number) {
    return counted(t, () =>
      Promise.all(Array.from({ length: size }, (_, i) => t.token(basic(id, i === rightAt ? 'right' : `wrong-${i}`), { remoteAddress: `192.0.2.${size % 250}` }))),
    )
  }

  for (const size of [60, 150]) {
    it(`${size} concurrent wrong passwords start at most 10 argon2id checks; the right one at position 55 gets 3008`, async (context) => {
      const id = `burst-${size}`
      await t.createAccount(id, 'right', { allowIps: ['0.0.0.0/0'] })
      const { result: answers, cost } = await burst(id, size, 55)
      context.diagnostic(`${size} guesses: ${cost.verifications} argon2id checks`)
      assert.ok(cost.verifications <= t.config.lockoutThreshold, `${cost.verifications} argon2id checks`)
      assert.ok(cost.started <= t.config.lockoutThreshold, `${cost.started} hash queue jobs`)
      assert.equal(code(answers[55]!), '3008', `the right password inside the burst: ${answers[55]!.body}`)
      assert.equal(answers.filter((a) => a.statusCode === 200).length, 0, 'no token inside the burst')
      const codes = new Set(answers.map(code))
      assert.deepEqual([...codes].sort(), ['3007', '3008'])
      // Every check was a wrong password that counted; the rest were refused without hashing.
      assert.equal(answers.filter((a) => code(a) === '3007').length, cost.verifications)
      for (const answer of answers.filter((a) => code(a) === '3008')) assert.match(String(answer.headers['retry-after']), /^[1-9]\d*$/)
      // The burst locked the account: the right password is still refused, without a check.
      const { result: late, cost: lateCost } = await counted(t, () => t.token(basic(id, 'right'), { remoteAddress: '192.0.2.251' }))
      assert.equal(code(late), '3008')
      assert.equal(lateCost.verifications, 0)
    })
  }

  it('a burst over 100 distinct unknown accounts from one address starts at most 30 checks, then the address is blocked', async (context) => {
    const from = '198.51.100.66'
    const { result: answers, cost } = await counted(t, () => Promise.all(Array.from({ length: 100 }, (_, i) => t.token(basic(`ghost-${i}`, 'guess'), { remoteAddress: from }))))
    context.diagnostic(`100 unknown accounts: ${cost.verifications} argon2id checks`)
    assert.ok(cost.verifications <= t.config.ipFailureLimit, `${cost.verifications} argon2id checks`)
    assert.equal(answers.filter((a) => code(a) === '3006').length, cost.verifications, 'each check answered 3006, the rest 3008')
    assert.equal(answers.filter((a) => code(a) === '3008').length, 100 - cost.verifications)
    await t.createAccount('neighbour', 'right', { allowIps: ['0.0.0.0/0'] })
    assert.equal(code(await t.token(basic('neighbour', 'right'), { remoteAddress: from })), '3008', 'the address is blocked')
    assert.equal(code(await t.token(basic('neighbour', 'right'), { remoteAddress: '198.51.100.67' })), '200', 'another address is not')
  })

  it('a success resets the count, and a right password with no guess in flight is never refused', async () => {
    const id = 'honest'
    const from = '203.0.113.20'
    await t.createAccount(id, 'right', { allowIps: ['0.0.0.0/0'] })
    for (let round = 0; round < 2; round++) {
      const wrong = await Promise.all(Array.from({ length: 9 }, (_, i) => t.token(basic(id, `typo-${round}-${i}`), { remoteAddress: from })))
      // Without the reset, the second round's guesses would pass the threshold of 10 and lock.
      assert.deepEqual(wrong.map(code), Array(9).fill('3007'), `round ${round}`)
      assert.equal(code(await t.token(basic(id, 'right'), { remoteAddress: from })), '200', `round ${round}: 9 wrong, then right`)
    }
  })

  it('many concurrent requests with the same right password (cold) all get a token and start one check', async () => {
    const id = 'popular'
    await t.createAccount(id, 'right', { allowIps: ['0.0.0.0/0'] })
    const { result: answers, cost } = await counted(t, () => Promise.all(Array.from({ length: 40 }, () => t.token(basic(id, 'right'), { remoteAddress: '203.0.113.30' }))))
    assert.deepEqual(answers.map(code), Array(40).fill('200'))
    assert.equal(cost.verifications, 1)
    assert.equal(cost.started, 1)
  })
})
