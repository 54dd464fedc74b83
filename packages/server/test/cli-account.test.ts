/**
 * `bizauth account …` against a real store: each case runs the real CLI as a child process,
 * then reads the store directly to check what it wrote. The whole life cycle also runs on
 * PostgreSQL when BIZAUTH_TEST_DATABASE_URL is set.
 */
import { after, before, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { DEFAULTS } from '../src/config.js'
import { openStore, type OpenStoreOptions } from '../src/store/open.js'
import type { Store } from '../src/store/store.js'
import { runCli, type CliResult } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { useTempDir } from './helpers/tmp.js'

const hasher = new PasswordHasher(DEFAULTS.argon2)
const ACCOUNT_JSON_KEYS = ['allowedIps', 'createdAt', 'id', 'roles', 'status', 'updatedAt']

/** Where a test's store lives, as CLI arguments and as openStore options. */
interface StoreUnderTest {
  args: string[]
  options: OpenStoreOptions
}

async function sqliteStore(t: TestContext): Promise<StoreUnderTest> {
  const dataDir = await useTempDir(t)
  return { args: ['--data-dir', dataDir], options: { dataDir } }
}

async function inspect<T>(where: StoreUnderTest, read: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(where.options)
  try {
    await store.migrate()
    return await read(store)
  } finally {
    await store.close()
  }
}

async function account(where: StoreUnderTest, args: string[], input?: string): Promise<CliResult> {
  return runCli(['account', ...args, ...where.args], input === undefined ? {} : { input })
}

function assertSucceeded(result: CliResult): void {
  assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`)
}

function assertFailed(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 1, `exit code; stdout: ${result.stdout} stderr: ${result.stderr}`)
  assert.match(result.stderr.trimEnd(), pattern)
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`)
  assert.doesNotMatch(result.stderr, /\n\s+at /)
}

function assertNoSecret(results: CliResult[], secrets: string[]): void {
  for (const result of results) {
    for (const secret of secrets) {
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'a secret reached the output')
    }
    assert.doesNotMatch(result.stdout + result.stderr, /\$argon2/, 'a password hash reached the output')
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

describe('bizauth account (SQLite)', () => {
  it('create --password-stdin hashes the first line only, canonicalizes IPs and prints no secret', async (t) => {
    const where = await sqliteStore(t)
    const result = await account(
      where,
      ['create', 'acme', '--allow-ip', '::ffff:10.0.0.1', '--allow-ip', '2001:db8::/32', '--allow-ip', '10.0.0.1', '--role', 'introspect', '--password-stdin'],
      'first line pw\r\nsecond line\n',
    )
    assertSucceeded(result)
    assert.match(result.stdout, /^created account acme \(allowed IPs: 10\.0\.0\.1\/32, 2001:db8::\/32; roles: introspect\)\n$/)
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.ok(stored)
    assert.deepEqual(stored.allowedIps, ['10.0.0.1/32', '2001:db8::/32'])
    assert.deepEqual(stored.roles, ['introspect'])
    assert.equal(stored.status, 'active')
    assert.match(stored.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    assert.equal(await hasher.verify(stored.passwordHash, 'first line pw'), true)
    assert.equal(await hasher.verify(stored.passwordHash, 'first line pw\r'), false)
    assertNoSecret([result], ['first line pw', stored.passwordHash])
  })

  it('create without a password source generates a strong one and prints it exactly once', async (t) => {
    const where = await sqliteStore(t)
    const result = await account(where, ['create', 'acme', '--allow-ip', '127.0.0.1'])
    assertSucceeded(result)
    const password = /^password: (\S+)$/m.exec(result.stdout)?.[1]
    assert.ok(password, result.stdout)
    assert.match(password, /^[A-Za-z0-9_-]{24}$/)
    assert.equal((result.stdout + result.stderr).split(password).length - 1, 1, 'printed once')
    assert.match(result.stderr, /shown only this once/)
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(await hasher.verify(stored!.passwordHash, password), true)

    const other = await account(where, ['create', 'other'])
    const otherPassword = /^password: (\S+)$/m.exec(other.stdout)?.[1]
    assert.notEqual(otherPassword, password)
    assert.match(other.stderr, /no allowed IP yet, so token requests get 3000/)
  })

  it('BIZAUTH_ARGON2_* parameters apply to the hashes the CLI writes', async (t) => {
    const where = await sqliteStore(t)
    const result = await runCli(['account', 'create', 'acme', '--password-stdin', ...where.args], {
      input: 'pw-1234567\n',
      env: { BIZAUTH_ARGON2_MEMORY: '4096', BIZAUTH_ARGON2_TIME: '3' },
    })
    assertSucceeded(result)
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.match(stored!.passwordHash, /^\$argon2id\$v=19\$m=4096,t=3,p=1\$/)
  })

  it('show --json and list --json print exactly the stable fields; text output never shows the hash', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'beta', '--allow-ip', '203.0.113.0/24', '--password-stdin'], 'pw-beta-12\n'))
    assertSucceeded(await account(where, ['create', 'alpha', '--password-stdin'], 'pw-alpha-1\n'))

    const shown = await account(where, ['show', 'beta', '--json'])
    assertSucceeded(shown)
    const beta = JSON.parse(shown.stdout) as Record<string, unknown>
    assert.deepEqual(Object.keys(beta).sort(), ACCOUNT_JSON_KEYS)
    assert.equal(beta.id, 'beta')
    assert.equal(beta.status, 'active')
    assert.deepEqual(beta.allowedIps, ['203.0.113.0/24'])
    assert.deepEqual(beta.roles, [])
    for (const key of ['createdAt', 'updatedAt']) {
      assert.equal(new Date(beta[key] as string).toISOString(), beta[key], `${key} is an ISO string`)
    }

    const listed = await account(where, ['list', '--json'])
    assertSucceeded(listed)
    const accounts = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    assert.deepEqual(accounts.map((a) => a.id).sort(), ['alpha', 'beta'])
    for (const a of accounts) assert.deepEqual(Object.keys(a).sort(), ACCOUNT_JSON_KEYS)
    assert.deepEqual(accounts.find((a) => a.id === 'beta'), beta)

    const text = await account(where, ['show', 'beta'])
    assert.match(text.stdout, /^id: +beta$/m)
    assert.match(text.stdout, /^allowed IPs: +203\.0\.113\.0\/24$/m)
    const table = await account(where, ['list'])
    assert.match(table.stdout, /^ID +STATUS +ALLOWED IPS +ROLES +CREATED$/m)
    assert.match(table.stdout, /^beta +active +203\.0\.113\.0\/24 /m)

    const hashes = await inspect(where, async (store) => (await store.listAccounts()).map((a) => a.passwordHash))
    assertNoSecret([shown, listed, text, table], ['pw-beta-12', 'pw-alpha-1', ...hashes])
  })

  it('list on an empty store says how to create an account; --json prints []', async (t) => {
    const where = await sqliteStore(t)
    const text = await account(where, ['list'])
    assertSucceeded(text)
    assert.match(text.stdout, /^no accounts; create one with "bizauth account create ID --allow-ip CIDR"\n$/)
    assert.deepEqual(JSON.parse((await account(where, ['list', '--json'])).stdout), [])
  })

  it('set-password needs --password-stdin without a TTY, then changes the hash and revokes earlier tokens', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'old-password\n'))
    const before = await inspect(where, (store) => store.getAccount('acme'))

    const refused = await account(where, ['set-password', 'acme'], 'new-password\n')
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /^bizauth account set-password: no password source: .*pass --password-stdin/)
    assert.equal((await inspect(where, (store) => store.getAccount('acme')))!.passwordHash, before!.passwordHash, 'nothing changed')

    const start = nowSeconds()
    const changed = await account(where, ['set-password', 'acme', '--password-stdin'], 'new-password\n')
    const end = nowSeconds()
    assertSucceeded(changed)
    assert.match(changed.stdout, /^changed the password of acme; tokens issued before \d{4}-\d\d-\d\dT[\d:.]+Z are revoked\n$/)
    const after = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(await hasher.verify(after!.passwordHash, 'new-password'), true)
    assert.equal(await hasher.verify(after!.passwordHash, 'old-password'), false)
    assert.ok(after!.tokensValidAfter >= start + 1 && after!.tokensValidAfter <= end + 1, 'valid after the next whole second')
    const events = await inspect(where, (store) => store.revocationsSince(0, 100))
    assert.deepEqual(events.map((e) => [e.kind, e.subject, e.at]), [['account', 'acme', after!.tokensValidAfter]])
    assertNoSecret([refused, changed], ['old-password', 'new-password', after!.passwordHash])
  })

  it('an empty or missing first line of stdin is refused and creates nothing', async (t) => {
    const where = await sqliteStore(t)
    for (const input of ['', '\n', '\r\n']) {
      assertFailed(await account(where, ['create', 'acme', '--password-stdin'], input), /^bizauth: the first line of stdin is empty/)
    }
    assert.equal(await inspect(where, (store) => store.countAccounts()), 0)
  })

  it('suspend revokes earlier tokens; resume reactivates without moving the revocation', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'pw-1234567\n'))
    const start = nowSeconds()
    const suspended = await account(where, ['suspend', 'acme'])
    assertSucceeded(suspended)
    assert.match(suspended.stdout, /^suspended acme; tokens issued before .* are revoked\n$/)
    const afterSuspend = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(afterSuspend!.status, 'suspended')
    assert.ok(afterSuspend!.tokensValidAfter > start && afterSuspend!.tokensValidAfter <= nowSeconds() + 1)

    const resumed = await account(where, ['resume', 'acme'])
    assertSucceeded(resumed)
    const afterResume = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(afterResume!.status, 'active')
    assert.equal(afterResume!.tokensValidAfter, afterSuspend!.tokensValidAfter)
    assert.equal((await inspect(where, (store) => store.revocationsSince(0, 100))).length, 1, 'resume adds no revocation')
  })

  it('allow-ip and deny-ip keep canonical ranges; denying an absent range fails and changes nothing', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--allow-ip', '10.0.0.0/24', '--password-stdin'], 'pw-1234567\n'))
    const allowed = await account(where, ['allow-ip', 'acme', '2001:DB8:0:0::1'])
    assertSucceeded(allowed)
    assert.equal(allowed.stdout, 'allowed 2001:db8::1/128 for acme (allowed IPs: 10.0.0.0/24, 2001:db8::1/128)\n')
    assertSucceeded(await account(where, ['allow-ip', 'acme', '10.0.0.0/24']))
    assert.deepEqual((await inspect(where, (store) => store.getAccount('acme')))!.allowedIps, ['10.0.0.0/24', '2001:db8::1/128'])

    assertFailed(await account(where, ['deny-ip', 'acme', '10.0.0.7']), /^bizauth: 10\.0\.0\.7\/32 is not an allowed IP of acme \(allowed IPs: 10\.0\.0\.0\/24, 2001:db8::1\/128\); nothing changed$/)
    assertFailed(await account(where, ['allow-ip', 'acme', '10.0.0.7/24']), /^bizauth: "10\.0\.0\.7\/24" has host bits set; did you mean 10\.0\.0\.0\/24\?/)
    assertFailed(await account(where, ['allow-ip', 'acme', 'localhost']), /^bizauth: "localhost" is not an IP address or CIDR range/)

    const denied = await account(where, ['deny-ip', 'acme', '10.0.0.0/24'])
    assertSucceeded(denied)
    assert.equal(denied.stdout, 'removed 10.0.0.0/24 from acme (allowed IPs: 2001:db8::1/128)\n')
    assert.deepEqual((await inspect(where, (store) => store.getAccount('acme')))!.allowedIps, ['2001:db8::1/128'])
  })

  it('grant and revoke-role change roles; an unknown role is refused', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'pw-1234567\n'))
    assertSucceeded(await account(where, ['grant', 'acme', 'introspect']))
    assertSucceeded(await account(where, ['grant', 'acme', 'introspect']))
    assert.deepEqual((await inspect(where, (store) => store.getAccount('acme')))!.roles, ['introspect'])
    assertFailed(await account(where, ['grant', 'acme', 'root']), /^bizauth: unknown role "root": the roles are introspect, admin, viewer$/)
    assertSucceeded(await account(where, ['revoke-role', 'acme', 'introspect']))
    assert.deepEqual((await inspect(where, (store) => store.getAccount('acme')))!.roles, [])
    assertSucceeded(await account(where, ['revoke-role', 'acme', 'introspect']))
    assertFailed(await account(where, ['create', 'other', '--role', 'root', '--password-stdin'], 'pw-1234567\n'), /unknown role "root"/)
    assert.equal(await inspect(where, (store) => store.getAccount('other')), undefined)
  })

  it('revoke-tokens sets the next whole second and a feed event kept past the last token', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'pw-1234567\n'))
    const start = nowSeconds()
    const revoked = await account(where, ['revoke-tokens', 'acme'])
    assertSucceeded(revoked)
    assert.match(revoked.stdout, /^revoked every token of acme issued before .*Z\n$/)
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.ok(stored!.tokensValidAfter >= start + 1 && stored!.tokensValidAfter <= nowSeconds() + 1)
    const [event] = await inspect(where, (store) => store.revocationsSince(0, 100))
    assert.equal(event?.kind, 'account')
    assert.equal(event?.subject, 'acme')
    assert.equal(event?.at, stored!.tokensValidAfter)
    assert.equal(event?.expiresAt, stored!.tokensValidAfter + 86_400 + 300)
    assert.equal(stored!.status, 'active', 'revoking tokens does not suspend')
  })

  it('delete removes the account; deleting again fails', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'pw-1234567\n'))
    const deleted = await account(where, ['delete', 'acme'])
    assertSucceeded(deleted)
    assert.equal(deleted.stdout, 'deleted acme\n')
    assert.equal(await inspect(where, (store) => store.getAccount('acme')), undefined)
    assertFailed(await account(where, ['delete', 'acme']), /^bizauth: account "acme" does not exist; list the accounts with "bizauth account list"$/)
  })

  it('every command that names a missing account exits 1 and says so', async (t) => {
    const where = await sqliteStore(t)
    const commands: string[][] = [
      ['show', 'ghost'],
      ['show', 'ghost', '--json'],
      ['set-password', 'ghost', '--password-stdin'],
      ['suspend', 'ghost'],
      ['resume', 'ghost'],
      ['allow-ip', 'ghost', '127.0.0.1'],
      ['deny-ip', 'ghost', '127.0.0.1'],
      ['delete', 'ghost'],
      ['grant', 'ghost', 'introspect'],
      ['revoke-role', 'ghost', 'introspect'],
      ['revoke-tokens', 'ghost'],
    ]
    for (const args of commands) {
      const result = await account(where, args, 'pw-1234567\n')
      assertFailed(result, /^bizauth: account "ghost" does not exist/)
      assert.equal(result.stdout, '', args.join(' '))
    }
    assert.equal(await inspect(where, (store) => store.countAccounts()), 0)
  })

  it('a duplicate create fails and keeps the first password', async (t) => {
    const where = await sqliteStore(t)
    assertSucceeded(await account(where, ['create', 'acme', '--password-stdin'], 'first-pw-1\n'))
    const duplicate = await account(where, ['create', 'acme', '--password-stdin'], 'second-pw-2\n')
    assertFailed(duplicate, /^bizauth: account "acme" already exists; see it with "bizauth account show acme"$/)
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(await hasher.verify(stored!.passwordHash, 'first-pw-1'), true)
  })

  it('an id of the wrong shape or a bad CIDR is refused before anything is written', async (t) => {
    const where = await sqliteStore(t)
    for (const id of ['has space', 'a'.repeat(65), 'caf\u00e9', 'semi;colon', '']) {
      const result = await account(where, ['create', id, '--password-stdin'], 'pw-1234567\n')
      assertFailed(result, /^bizauth: invalid account id ".*": use 1-64 characters of A-Z a-z 0-9 \. _ @ -$/)
      assertFailed(await account(where, ['show', id]), /invalid account id/)
    }
    assertSucceeded(await account(where, ['create', 'a'.repeat(64), '--password-stdin'], 'pw-1234567\n'))
    assertSucceeded(await account(where, ['create', 'Ops.Team_1@example-corp', '--password-stdin'], 'pw-1234567\n'))
    assertFailed(await account(where, ['create', 'acme', '--allow-ip', '300.1.1.1', '--password-stdin'], 'pw-1234567\n'), /"300\.1\.1\.1" is not an IP address or CIDR range/)
    assert.equal(await inspect(where, (store) => store.getAccount('acme')), undefined)
    assert.equal(await inspect(where, (store) => store.countAccounts()), 2)
  })
})

describe('bizauth account on PostgreSQL', { skip: await postgresSkipReason() }, () => {
  let database: PostgresTestDatabase
  let where: StoreUnderTest
  before(async () => {
    database = await withPostgresDatabase()
    where = { args: ['--database-url', database.url], options: { databaseUrl: database.url } }
  })
  after(() => database?.drop())

  it('migrate, create, list through BIZAUTH_DATABASE_URL, suspend, revoke-tokens, set-password, delete', async () => {
    const migrated = await runCli(['migrate', ...where.args])
    assertSucceeded(migrated)
    assert.match(migrated.stdout, /^migrated the store \(PostgreSQL at postgres(ql)?:\/\/.*\): the schema is up to date; 0 accounts\n$/)

    assertSucceeded(await account(where, ['create', 'acme', '--allow-ip', '203.0.113.7', '--role', 'introspect', '--password-stdin'], 'pg-password-1\n'))
    assertFailed(await account(where, ['create', 'acme', '--password-stdin'], 'pg-password-2\n'), /already exists/)

    const listed = await runCli(['account', 'list', '--json'], { env: { BIZAUTH_DATABASE_URL: database.url } })
    assertSucceeded(listed)
    const [acme] = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
    assert.deepEqual(Object.keys(acme!).sort(), ACCOUNT_JSON_KEYS)
    assert.deepEqual([acme!.id, acme!.allowedIps, acme!.roles], ['acme', ['203.0.113.7/32'], ['introspect']])

    assertSucceeded(await account(where, ['suspend', 'acme']))
    assertSucceeded(await account(where, ['revoke-tokens', 'acme']))
    assertSucceeded(await account(where, ['set-password', 'acme', '--password-stdin'], 'pg-password-3\n'))
    const stored = await inspect(where, (store) => store.getAccount('acme'))
    assert.equal(stored!.status, 'suspended')
    assert.equal(await hasher.verify(stored!.passwordHash, 'pg-password-3'), true)
    const events = await inspect(where, (store) => store.revocationsSince(0, 100))
    assert.deepEqual(events.map((e) => [e.kind, e.subject]), [['account', 'acme'], ['account', 'acme'], ['account', 'acme']])

    assertSucceeded(await account(where, ['delete', 'acme']))
    assertFailed(await account(where, ['show', 'acme']), /does not exist/)
  })
})
