/**
 * `--uniform-auth-errors` (issue 13 §5): nothing in the answer to a token request tells an
 * unknown account from an existing one, from any address. Compared here: status, body, header
 * names (and values, but for the date), and the argon2id work each answer cost, counted (the
 * cost is what made the timing differ: 1 ms without a hash against 6 ms with one).
 *
 * What legitimate clients see in uniform mode:
 * - a wrong password, an unknown account id, an address not on the account's allow-list (3010
 *   otherwise), an account with no allowed IP yet (3000 otherwise) and an unreadable client
 *   address (3003 otherwise) all answer 400/3001, even with the right password: a client at a
 *   new address must ask its operator to add it, and learns nothing else from the answer;
 * - too many failures under one id lock it, whether or not the account exists: 3008 with the
 *   same Retry-After for both;
 * - a suspended account still answers 3009, but only to a caller that sent its right password
 *   from an allowed address, i.e. its owner;
 * - an id that cannot be an account (3004) and a malformed header (3001) say nothing about existence.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { answerCode, basic, startTestApp, type Answer, type TestApp } from './helpers/app.js'
import { counted } from './helpers/gates.js'

const code = answerCode
const ALLOWED_NET = '198.51.100.0/24'
const OUTSIDE = '203.0.113.9'

/** What must be identical between an unknown and an existing account. */
function visible(response: Answer): { statusCode: number; body: string; headers: Record<string, unknown> } {
  // The date and the request id differ per answer, whatever the account.
  const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => name !== 'date' && name !== 'x-request-id'))
  return { statusCode: response.statusCode, body: response.body, headers }
}

describe('--uniform-auth-errors', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp({ uniformAuthErrors: true })
    assert.equal(t.config.lockoutThreshold, 10)
    await t.createAccount('acme', 'right', { allowIps: [ALLOWED_NET] })
    await t.createAccount('lonely', 'right', { allowIps: [] })
    await t.createAccount('dormant', 'right', { allowIps: [ALLOWED_NET], suspended: true })
  })
  after(() => t?.close())

  /** One token request from `remoteAddress` and the argon2id work it cost. */
  function attempt(account: string, password: string, remoteAddress: string) {
    return counted(t, () => t.token(basic(account, password), { remoteAddress }))
  }

  it('answers an unknown and an existing account identically, from an allowed and a non-allowed address, at one argon2id check each', async () => {
    // Each case from an address of its own, so the per-IP failure limit never enters.
    const cases: Array<[string, string, string, string]> = [
      ['unknown account, allowed address', 'ghost', 'wrong', '198.51.100.1'],
      ['existing account, wrong password, allowed address', 'acme', 'wrong', '198.51.100.2'],
      ['unknown account, non-allowed address', 'ghost', 'wrong', '203.0.113.3'],
      ['existing account, wrong password, non-allowed address', 'acme', 'wrong', '203.0.113.4'],
      ['existing account, right password, non-allowed address (3010 without uniform errors)', 'acme', 'right', '203.0.113.5'],
      ['account with no allowed IP, wrong password (3000 without uniform errors)', 'lonely', 'wrong', '198.51.100.6'],
      ['account with no allowed IP, right password', 'lonely', 'right', '198.51.100.7'],
      ['suspended account, wrong password', 'dormant', 'wrong', '198.51.100.8'],
    ]
    // One at a time: the argon2id counters are the server's.
    const answers = []
    for (const [what, account, password, from] of cases) answers.push({ what, ...(await attempt(account, password, from)) })
    const [reference, ...others] = answers
    assert.equal(code(reference!.result), '3001')
    assert.equal(reference!.cost.verifications, 1, 'an unknown account costs one (dummy) check')
    for (const other of others) {
      assert.deepEqual(visible(other.result), visible(reference!.result), other.what)
      assert.deepEqual(other.cost, reference!.cost, `${other.what}: the same argon2id work`)
    }
  })

  it('locks an unknown id and an existing account alike after 10 failures: 3008 with the same Retry-After', async (context) => {
    // One frozen instant for every lock, so each Retry-After is computed from the same clock.
    context.mock.timers.enable({ apis: ['Date'], now: Date.now() })
    // Accounts with no failures yet, so each count starts at 0.
    await t.createAccount('target', 'right', { allowIps: [ALLOWED_NET] })
    await t.createAccount('bare', 'right', { allowIps: [] })
    const targets: Array<[string, string, string]> = [
      ['unknown id', 'phantom', '198.51.100.20'],
      ['existing account from an allowed address', 'target', '198.51.100.21'],
      ['account with no allowed IP', 'bare', '198.51.100.22'],
    ]
    const locked: Array<{ what: string; answer: Answer; verifications: number }> = []
    for (const [what, account, from] of targets) {
      for (let i = 0; i < t.config.lockoutThreshold; i++) {
        assert.equal(code((await attempt(account, `guess-${i}`, from)).result), '3001', `${what}: failure ${i + 1}`)
      }
      const { result, cost } = await attempt(account, 'guess-again', from)
      locked.push({ what, answer: result, verifications: cost.verifications })
    }
    // An existing account locked by guesses from an address it does not allow counts the same.
    await t.createAccount('guarded', 'right', { allowIps: [ALLOWED_NET] })
    for (let i = 0; i < t.config.lockoutThreshold; i++) await attempt('guarded', `guess-${i}`, OUTSIDE)
    const outside = await attempt('guarded', 'right', OUTSIDE)
    locked.push({ what: 'existing account from a non-allowed address', answer: outside.result, verifications: outside.cost.verifications })

    const [reference, ...others] = locked
    assert.equal(code(reference!.answer), '3008')
    assert.equal(reference!.answer.headers['retry-after'], '60')
    assert.equal(reference!.verifications, 0, 'a locked id costs no argon2id')
    for (const other of others) {
      assert.deepEqual(visible(other.answer), visible(reference!.answer), other.what)
      assert.equal(other.verifications, 0, other.what)
    }
    // The existing account's owner is locked out too, from where it is allowed: the lock is the id's.
    assert.equal(code((await attempt('guarded', 'right', '198.51.100.23')).result), '3008')
  })

  it('still tells a suspended account\'s owner (right password, allowed address) 3009', async () => {
    const { result, cost } = await attempt('dormant', 'right', '198.51.100.30')
    assert.equal(result.statusCode, 400)
    assert.equal(code(result), '3009')
    assert.equal(cost.verifications, 1)
    // and the account's right password is what it takes: a wrong one reads like any other failure.
    assert.equal(code((await attempt('dormant', 'wrong', '198.51.100.30')).result), '3001')
  })

  it('issues a token for the right password from an allowed address', async () => {
    await t.createAccount('owner', 'right', { allowIps: [ALLOWED_NET] })
    assert.equal(code((await attempt('owner', 'right', '198.51.100.40')).result), '200')
  })
})

describe('without --uniform-auth-errors (the contrast the uniform mode removes)', () => {
  it('tells the cases apart: 3006, 3007, 3010 and 3000', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: [ALLOWED_NET] })
    await t.createAccount('lonely', 'right', { allowIps: [] })
    const from = (remoteAddress: string, account: string, password: string) => t.token(basic(account, password), { remoteAddress })
    assert.equal(code(await from('198.51.100.1', 'ghost', 'wrong')), '3006')
    assert.equal(code(await from('198.51.100.2', 'acme', 'wrong')), '3007')
    assert.equal(code(await from(OUTSIDE, 'acme', 'right')), '3010')
    assert.equal(code(await from('198.51.100.3', 'lonely', 'right')), '3000')
  })
})
