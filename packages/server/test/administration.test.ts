/**
 * The account-administration service, called directly: no CLI, no HTTP. Each operation
 * validates, runs in one store transaction, and describes what changed without a secret.
 * Run on SQLite and on PostgreSQL.
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import {
  AccountAdministration,
  AccountInputError,
  AllowedIpNotListedError,
  accountRevocation,
} from '../src/accounts/administration.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { ACCOUNT_REVOCATION_RETENTION_SECONDS } from '../src/tokens/lifetime.js'
import { AccountExistsError, AccountMissingError, type Store } from '../src/store/store.js'
import { FAST_ARGON2 } from './helpers/app.js'
import { STORE_DIALECTS, TEST_AUDIT } from './helpers/stores.js'

const hasher = new PasswordHasher(FAST_ARGON2)

for (const dialect of STORE_DIALECTS) {
  describe(`account administration on ${dialect.name}`, { skip: await dialect.skip() }, () => {
    async function setUp(t: TestContext, now?: () => number): Promise<{ store: Store; admin: AccountAdministration }> {
      const store = await dialect.open(t)
      return { store, admin: new AccountAdministration({ store, hasher, audit: TEST_AUDIT, ...(now ? { now } : {}) }) }
    }

    it('creates with canonical IPs and known roles, and generates a password only when none is given', async (t) => {
      const { store, admin } = await setUp(t)
      const created = await admin.create({ id: 'acme', allowedIps: ['203.0.113.7', '2001:db8::/32', '203.0.113.7/32'], roles: ['introspect'] })
      assert.equal(created.action, 'account.create')
      assert.equal(created.before, undefined)
      assert.deepEqual(created.after?.allowedIps, ['203.0.113.7/32', '2001:db8::/32'])
      assert.deepEqual(created.after?.roles, ['introspect'])
      assert.match(created.generatedPassword ?? '', /^[A-Za-z0-9_-]{24}$/)
      const stored = await store.getAccount('acme')
      assert.ok(await hasher.verify(stored!.passwordHash, created.generatedPassword!), 'the generated password is the stored one')

      const given = await admin.create({ id: 'given', password: 'chosen password 1' })
      assert.equal(given.generatedPassword, undefined)
      assert.ok(await hasher.verify((await store.getAccount('given'))!.passwordHash, 'chosen password 1'))
      await assert.rejects(admin.create({ id: 'acme' }), AccountExistsError)
    })

    it('refuses bad input by field before anything is written', async (t) => {
      const { store, admin } = await setUp(t)
      const refusals: Array<[Promise<unknown>, string]> = [
        [admin.create({ id: 'no spaces' }), 'id'],
        [admin.create({ id: 'x'.repeat(65) }), 'id'],
        [admin.create({ id: 'acme', allowedIps: ['10.0.0.7/24'] }), 'allowed_ips'],
        [admin.create({ id: 'acme', allowedIps: ['localhost'] }), 'allowed_ips'],
        [admin.create({ id: 'acme', roles: ['root'] }), 'roles'],
      ]
      for (const [refused, field] of refusals) {
        await assert.rejects(refused, (error: unknown) => error instanceof AccountInputError && error.field === field)
      }
      assert.equal(await store.countAccounts(), 0)
    })

    it('reports each change as before/after and the fields that differ, never a secret', async (t) => {
      const { admin } = await setUp(t)
      const { generatedPassword } = await admin.create({ id: 'acme', allowedIps: ['10.0.0.0/8'] })
      const changes = [
        await admin.allowIp('acme', '192.0.2.1'),
        await admin.denyIp('acme', '10.0.0.0/8'),
        await admin.grantRole('acme', 'introspect'),
        await admin.revokeRole('acme', 'introspect'),
        await admin.suspend('acme'),
        await admin.resume('acme'),
        await admin.setPassword('acme', 'a new password 2'),
        await admin.revokeTokens('acme'),
        await admin.unlock('acme'),
      ]
      assert.deepEqual(
        changes.map((change) => [change.action, Object.keys(change.changes).sort()]),
        [
          ['account.allow_ip', ['allowed_ips']],
          ['account.deny_ip', ['allowed_ips']],
          ['account.grant_role', ['roles']],
          ['account.revoke_role', ['roles']],
          ['account.suspend', ['status', 'tokens_valid_after']],
          ['account.resume', ['status']],
          ['account.set_password', ['lockout', 'password', 'tokens_valid_after']],
          ['account.revoke_tokens', ['tokens_valid_after']],
          ['account.unlock', ['lockout']],
        ],
      )
      assert.deepEqual(changes[0]!.changes.allowed_ips, [['10.0.0.0/8'], ['10.0.0.0/8', '192.0.2.1/32']])
      assert.deepEqual(changes[4]!.changes.status, ['active', 'suspended'])
      assert.deepEqual(changes[6]!.changes.password, [false, true], 'only that the password changed')
      for (const change of changes) assert.equal(change.accountId, 'acme')
      const text = JSON.stringify(changes)
      assert.ok(!text.includes('a new password 2') && !text.includes(generatedPassword!), 'no password in a change')
      assert.doesNotMatch(text, /\$argon2/, 'no hash in a change')
    })

    it('revokes from the next whole second and keeps the event past the last token; the revocation is the one in force', async (t) => {
      const clock = 1_800_000_000_400
      const { store, admin } = await setUp(t, () => clock)
      await admin.create({ id: 'acme', password: 'a first password 1' })
      const first = await admin.revokeTokens('acme')
      assert.deepEqual(first.revocation, accountRevocation(clock))
      assert.equal(first.revocation!.validAfter, 1_800_000_001)
      assert.equal(first.revocation!.expiresAt, 1_800_000_001 + ACCOUNT_REVOCATION_RETENTION_SECONDS)
      // A second revoking change in the same second moves past the first (a token issued in
      // between carries iat = the first instant).
      const second = await admin.suspend('acme')
      assert.equal(second.revocation!.validAfter, 1_800_000_002)
      assert.equal((await store.getAccount('acme'))!.tokensValidAfter, 1_800_000_002)
      const events = await store.revocationsSince(0, 10)
      assert.deepEqual(events.map((event) => [event.kind, event.subject, event.at]), [
        ['account', 'acme', 1_800_000_001],
        ['account', 'acme', 1_800_000_002],
      ])
      assert.equal(events[1]!.expiresAt, second.revocation!.expiresAt)
    })

    it('deletes in one transaction: revoked and gone together; a re-created account starts at that instant', async (t) => {
      const clock = 1_800_000_000_000
      const { store, admin } = await setUp(t, () => clock)
      await admin.create({ id: 'acme', password: 'a first password 1' })
      const deleted = await admin.delete('acme')
      assert.equal(deleted.after, undefined)
      assert.equal(deleted.before?.id, 'acme')
      assert.equal(deleted.revocation!.validAfter, 1_800_000_001)
      assert.equal(await store.getAccount('acme'), undefined)
      assert.deepEqual((await store.revocationsSince(0, 10)).map((event) => event.at), [1_800_000_001])
      await assert.rejects(admin.delete('acme'), AccountMissingError)

      const recreated = await admin.create({ id: 'acme', password: 'a second password 2' })
      assert.equal(recreated.after?.tokensValidAfter, 1_800_000_001, "its first tokens clear the predecessor's revocation")
    })

    it('leaves nothing behind when an operation fails inside its transaction', async (t) => {
      const { store, admin } = await setUp(t)
      await admin.create({ id: 'acme', allowedIps: ['10.0.0.0/24'] })
      const before = await store.getAccount('acme')
      await assert.rejects(admin.denyIp('acme', '10.0.0.7'), (error: unknown) => {
        assert.ok(error instanceof AllowedIpNotListedError)
        assert.deepEqual(error.allowedIps, ['10.0.0.0/24'])
        return true
      })
      assert.deepEqual(await store.getAccount('acme'), before, 'not even the version moved')
      const onGhost = [() => admin.suspend('ghost'), () => admin.revokeTokens('ghost'), () => admin.setPassword('ghost', 'a password 123'), () => admin.unlock('ghost'), () => admin.show('ghost')]
      for (const change of onGhost) await assert.rejects(change(), AccountMissingError)
      assert.deepEqual(await store.revocationsSince(0, 10), [], 'a refused revocation leaves no feed event')
    })

    it('lists in id order, by page, prefix and status', async (t) => {
      const { admin } = await setUp(t)
      for (const id of ['bravo', 'alpha', 'alpine', 'charlie']) await admin.create({ id, password: 'a password 123' })
      await admin.suspend('alpine')
      assert.deepEqual((await admin.list()).map((a) => a.id), ['alpha', 'alpine', 'bravo', 'charlie'])
      assert.deepEqual((await admin.list({ limit: 2 })).map((a) => a.id), ['alpha', 'alpine'])
      assert.deepEqual((await admin.list({ after: 'alpine', limit: 2 })).map((a) => a.id), ['bravo', 'charlie'])
      assert.deepEqual((await admin.list({ idPrefix: 'alp' })).map((a) => a.id), ['alpha', 'alpine'])
      assert.deepEqual((await admin.list({ idPrefix: 'a_' })).map((a) => a.id), [], 'a prefix is literal text, not a pattern')
      assert.deepEqual((await admin.list({ status: 'suspended' })).map((a) => a.id), ['alpine'])
      assert.equal(JSON.stringify(await admin.list()).includes('$argon2'), false)
    })

    it('adds IPs concurrently without losing one (the row is locked in the transaction)', async (t) => {
      const { store, admin } = await setUp(t)
      await admin.create({ id: 'acme' })
      const cidrs = Array.from({ length: 12 }, (_, i) => `198.51.100.${i}/32`)
      await Promise.all(cidrs.map((cidr) => admin.allowIp('acme', cidr)))
      assert.deepEqual([...(await store.getAccount('acme'))!.allowedIps].sort(), [...cidrs].sort())
    })
  })
}
