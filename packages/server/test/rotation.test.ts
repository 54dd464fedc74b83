/**
 * Two passwords during a rotation (issue 12 §2) and the password policy (§3).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { AccountAdministration, AccountInputError } from '../src/accounts/administration.js'
import { generateCompliantPassword, passwordShortcomings } from '../src/accounts/password-policy.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { FAST_ARGON2, answerCode, basic, startTestApp, type TestApp } from './helpers/app.js'
import { runCli } from './helpers/cli.js'
import { TEST_AUDIT } from './helpers/stores.js'
import { useTempDir } from './helpers/tmp.js'

const OLD = 'old password 1'
const NEW = 'new password 2'

async function rotated(t: TestApp, keepPreviousForSeconds: number, now?: () => number) {
  const admin = new AccountAdministration({ store: t.store, hasher: new PasswordHasher(FAST_ARGON2), audit: TEST_AUDIT, ...(now ? { now } : {}) })
  await admin.create({ id: 'acme', password: OLD, allowedIps: ['127.0.0.1'] })
  const token = await t.token(basic('acme', OLD))
  assert.equal(token.statusCode, 200)
  const change = await admin.setPassword('acme', NEW, { keepPreviousForSeconds })
  return { admin, change }
}

describe('set-password --keep-previous-for: both passwords until the instant', () => {
  it('accepts both, revokes nothing, caches each on its own, and a wrong password matches neither', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 3 })
    context.after(() => t.close())
    const { change } = await rotated(t, 3600)
    assert.equal(change.revocation, undefined, 'earlier tokens stay valid')
    assert.equal(change.after!.tokensValidAfter, 0)
    assert.ok(change.after!.previousPasswordValidUntil!.getTime() > Date.now() + 3500_000)

    assert.equal((await t.token(basic('acme', NEW))).statusCode, 200)
    assert.equal((await t.token(basic('acme', OLD))).statusCode, 200)
    const checks = t.services.hasher.verifications
    for (let i = 0; i < 3; i++) {
      assert.equal((await t.token(basic('acme', NEW))).statusCode, 200)
      assert.equal((await t.token(basic('acme', OLD))).statusCode, 200)
    }
    assert.equal(t.services.hasher.verifications, checks, 'both passwords answered from the cache')

    assert.equal(answerCode(await t.token(basic('acme', 'neither password 3'))), '3007')
    assert.equal(t.services.hasher.verifications, checks + 2, 'checked against both hashes')
    assert.equal(answerCode(await t.token(basic('acme', 'neither password 4'))), '3007')
    // Two failures so far, threshold 3: a right password resets the count, the previous one included.
    assert.equal((await t.token(basic('acme', OLD))).statusCode, 200)
    assert.equal(answerCode(await t.token(basic('acme', 'neither password 5'))), '3007')
    assert.equal(answerCode(await t.token(basic('acme', 'neither password 6'))), '3007')
    assert.equal(answerCode(await t.token(basic('acme', 'neither password 7'))), '3007')
    assert.equal(answerCode(await t.token(basic('acme', NEW))), '3008', 'three wrong passwords lock it, whichever hash they were checked against')
  })

  it('drop-previous-password ends it at once, cached or not; the current password keeps working', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const { admin } = await rotated(t, 3600)
    assert.equal((await t.token(basic('acme', OLD))).statusCode, 200)
    assert.equal((await t.token(basic('acme', NEW))).statusCode, 200)
    const dropped = await admin.dropPreviousPassword('acme')
    assert.deepEqual(dropped.changes.previous_password_until?.[1], null)
    assert.equal(answerCode(await t.token(basic('acme', OLD))), '3007', 'the cached previous password is refused on the next request')
    assert.equal((await t.token(basic('acme', NEW))).statusCode, 200)
  })

  it('the previous password stops at its instant, even while cached', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    await rotated(t, 60)
    const ip = { family: 4 as const, bytes: new Uint8Array([127, 0, 0, 1]) }
    const authenticate = (password: string, now: number) => t.services.authenticator.authenticate({ account: 'acme', password }, ip, now)
    await authenticate(OLD, Date.now())
    const checks = t.services.hasher.verifications
    await authenticate(OLD, Date.now() + 30_000)
    assert.equal(t.services.hasher.verifications, checks, 'cached before the instant')
    await assert.rejects(authenticate(OLD, Date.now() + 61_000), (error: { code?: string }) => error.code === '3007')
    await authenticate(NEW, Date.now() + 61_000)
  })

  it('without the flag the previous password stops at once and earlier tokens are revoked', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const { admin } = await rotated(t, 60)
    const change = await admin.setPassword('acme', 'third password 3')
    assert.ok(change.revocation, 'revoked')
    assert.equal(change.after!.previousPasswordValidUntil, undefined)
    assert.equal(answerCode(await t.token(basic('acme', NEW))), '3007')
    assert.equal(answerCode(await t.token(basic('acme', OLD))), '3007')
  })

  it('keeps at most 7 days', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const admin = new AccountAdministration({ store: t.store, hasher: new PasswordHasher(FAST_ARGON2), audit: TEST_AUDIT })
    await admin.create({ id: 'acme', password: OLD })
    for (const seconds of [0, 7 * 86400 + 1, 1.5]) {
      await assert.rejects(admin.setPassword('acme', NEW, { keepPreviousForSeconds: seconds }), (error) => error instanceof AccountInputError && error.field === 'keep_previous_for')
    }
    assert.ok((await admin.setPassword('acme', NEW, { keepPreviousForSeconds: 7 * 86400 })).after!.previousPasswordValidUntil)
  })
})

describe('the CLI: set-password --keep-previous-for, show, drop-previous-password', () => {
  it('shows when the previous password stops, and drops it', async (t) => {
    const dir = await useTempDir(t)
    const store = ['--data-dir', join(dir, 'data')]
    assert.equal((await runCli(['account', 'create', 'acme', '--password-stdin', ...store], { input: `${OLD}\n` })).code, 0)
    const tooLong = await runCli(['account', 'set-password', 'acme', '--password-stdin', '--keep-previous-for', '8d', ...store], { input: `${NEW}\n` })
    assert.equal(tooLong.code, 1)
    assert.match(tooLong.stderr, /from 1 second to 7 days .*\(nothing changed\)/)
    const badDuration = await runCli(['account', 'set-password', 'acme', '--password-stdin', '--keep-previous-for', 'tomorrow', ...store], { input: `${NEW}\n` })
    assert.match(badDuration.stderr, /takes a duration such as 30m, 24h or 7d/)
    const set = await runCli(['account', 'set-password', 'acme', '--password-stdin', '--keep-previous-for', '24h', ...store], { input: `${NEW}\n` })
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /the previous password works until \S+Z, and earlier tokens stay valid/)
    const shown = await runCli(['account', 'show', 'acme', ...store])
    const until = /^previous: +the previous password works until (\S+)/m.exec(shown.stdout)?.[1]
    assert.ok(until && Math.abs(Date.parse(until) - Date.now() - 86_400_000) < 60_000, shown.stdout)
    const json = JSON.parse((await runCli(['account', 'show', 'acme', '--json', ...store])).stdout)
    assert.equal(json.previousPasswordValidUntil, until)
    const dropped = await runCli(['account', 'drop-previous-password', 'acme', ...store])
    assert.match(dropped.stdout, /dropped the previous password of acme/)
    assert.doesNotMatch((await runCli(['account', 'show', 'acme', ...store])).stdout, /previous:/)
  })
})

describe('the password policy', () => {
  it('says what is missing', () => {
    const policy = { minLength: 10, minClasses: 2 }
    assert.deepEqual(passwordShortcomings(policy, 'abcdefghij'), ['it uses 1 of the classes letters, digits and symbols; at least 2 are needed (add digits or symbols)'])
    assert.deepEqual(passwordShortcomings(policy, 'abc1'), ['it has 4 characters; at least 10 are needed'])
    assert.deepEqual(passwordShortcomings(policy, '비밀번호는열글자입니다1'), [], 'Hangul counts as letters, per character')
    assert.deepEqual(passwordShortcomings({ minLength: 1, minClasses: 3 }, 'a1'), ['it uses 2 of the classes letters, digits and symbols; at least 3 are needed (add symbols)'])
  })

  it('generated passwords always comply, even with the strictest policy', () => {
    for (let i = 0; i < 200; i++) assert.deepEqual(passwordShortcomings({ minLength: 24, minClasses: 3 }, generateCompliantPassword({ minLength: 12, minClasses: 3 })), [])
    assert.equal(generateCompliantPassword({ minLength: 40, minClasses: 1 }).length, 40)
  })

  it('the service refuses a weak password on create and set-password', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const admin = new AccountAdministration({ store: t.store, hasher: new PasswordHasher(FAST_ARGON2), audit: TEST_AUDIT, passwordPolicy: { minLength: 12, minClasses: 3 } })
    await assert.rejects(admin.create({ id: 'acme', password: 'longbutplain1' }), /too weak: .*add symbols/)
    assert.equal(await t.store.getAccount('acme'), undefined)
    await admin.create({ id: 'acme', password: 'long, with 1 digit' })
    await assert.rejects(admin.setPassword('acme', 'short-1'), (error) => error instanceof AccountInputError && error.field === 'password' && /it has 7 characters; at least 12/.test(error.message))
    assert.ok((await admin.create({ id: 'generated' })).generatedPassword)
  })

  it('the CLI refuses with the message and honours --password-min-length / BIZAUTH_PASSWORD_MIN_CLASSES', async (t) => {
    const dir = await useTempDir(t)
    const store = ['--data-dir', join(dir, 'data')]
    const weak = await runCli(['account', 'create', 'acme', '--password-stdin', ...store], { input: 'hunter2\n' })
    assert.equal(weak.code, 1)
    assert.equal(weak.stderr, 'bizauth: the password is too weak: it has 7 characters; at least 10 are needed (nothing changed)\n')
    assert.ok(!weak.stderr.includes('hunter2') || weak.stderr.includes('at least'), 'the password is not echoed')
    const relaxed = await runCli(['account', 'create', 'acme', '--password-stdin', '--password-min-length', '6', ...store], { input: 'hunter2\n' })
    assert.equal(relaxed.code, 0, relaxed.stderr)
    const strict = await runCli(['account', 'set-password', 'acme', '--password-stdin', ...store], { input: 'twelve chars 1\n', env: { BIZAUTH_PASSWORD_MIN_CLASSES: '3' } })
    assert.equal(strict.code, 0, strict.stderr)
    const stricter = await runCli(['account', 'set-password', 'acme', '--password-stdin', ...store], { input: 'twelvecharsplus\n', env: { BIZAUTH_PASSWORD_MIN_CLASSES: '3' } })
    assert.match(stricter.stderr, /add digits or symbols/)
    const invalid = await runCli(['account', 'create', 'x', '--password-min-classes', '4', ...store])
    assert.match(invalid.stderr, /--password-min-classes \(BIZAUTH_PASSWORD_MIN_CLASSES\) must be at most 3/)
  })
})
