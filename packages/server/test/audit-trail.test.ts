/**
 * The audit trail (issue 11 §1), on SQLite and PostgreSQL:
 * - every change made through the real CLI appears exactly once, attributed, with its changes,
 *   and no secret is in any event;
 * - `bizauth audit verify` passes an untouched trail and names the seq of each of the five kinds
 *   of tampering, each done with direct SQL on the database;
 * - three writers at once leave a gap-free chain; pruning keeps a checkpoint that verifies;
 * - automatic rotation and the lockout/IP-block episodes are recorded by the server itself.
 */
import assert from 'node:assert/strict'
import { hostname, userInfo } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import { AccountAdministration } from '../src/accounts/administration.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { createKeyEncryption } from '../src/keys/key-encryption.js'
import { maintainKeys } from '../src/keys/key-ring.js'
import { TOKEN_LIFETIME_SECONDS } from '../src/tokens/lifetime.js'
import { createAuditSeal, verifyAuditChain } from '../src/store/audit-chain.js'
import { openStore, type OpenStoreOptions } from '../src/store/open.js'
import type { AuditEvent, AuditWriter, Store } from '../src/store/store.js'
import { answerCode, basic, FAST_ARGON2, startTestApp } from './helpers/app.js'
import { assertEachChangeOnce, assertNoSecrets, auditCli, listedAuditEvents, succeeded, type ExpectedEvent } from './helpers/audit.js'
import { runCli, type CliResult } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase } from './helpers/postgres.js'
import { FAST_ARGON2_ENV } from './helpers/server-process.js'
import { makeTempDir } from './helpers/tmp.js'

const AUDIT_KEY = 'audit-key-for-tests-only-0123456789'
const SEAL = createAuditSeal(AUDIT_KEY)

interface Database {
  /** How the CLI reaches it: flags and environment. */
  cliArgs: string[]
  cliEnv: Record<string, string>
  options: OpenStoreOptions
  /** Runs SQL on the database directly, as someone with write access would. */
  sql(statements: string[]): Promise<void>
  remove(): Promise<void>
}

interface Dialect {
  name: 'sqlite' | 'postgres'
  skip: string | undefined
  create(): Promise<Database>
}

const dialects: Dialect[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async create() {
      const dir = await makeTempDir()
      const dataDir = join(dir.path, 'data')
      return {
        cliArgs: ['--data-dir', dataDir],
        cliEnv: {},
        options: { dataDir },
        async sql(statements) {
          const db = new BetterSqlite3(join(dataDir, 'bizauth.sqlite'))
          try {
            db.transaction(() => statements.forEach((statement) => db.exec(statement)))()
          } finally {
            db.close()
          }
        },
        remove: () => dir.remove(),
      }
    },
  },
  {
    name: 'postgres',
    skip: await postgresSkipReason(),
    async create() {
      const database = await withPostgresDatabase()
      return {
        cliArgs: [],
        cliEnv: { BIZAUTH_DATABASE_URL: database.url },
        options: { databaseUrl: database.url, postgresPoolSize: 4 },
        async sql(statements) {
          const client = new pg.Client({ connectionString: database.url })
          await client.connect()
          try {
            await client.query('begin')
            for (const statement of statements) await client.query(statement)
            await client.query('commit')
          } finally {
            await client.end()
          }
        },
        remove: () => database.drop(),
      }
    },
  },
]

async function freshDatabase(context: TestContext, dialect: Dialect): Promise<Database> {
  const database = await dialect.create()
  context.after(() => database.remove())
  return database
}

async function openMigrated(context: TestContext, database: Database): Promise<Store> {
  const store = await openStore(database.options)
  context.after(() => store.close())
  await store.migrate()
  return store
}

function cli(database: Database, args: string[], input?: string): Promise<CliResult> {
  return auditCli(database, args, { auditKey: AUDIT_KEY, ...(input === undefined ? {} : { input }) })
}

async function allEvents(store: Store): Promise<AuditEvent[]> {
  const events: AuditEvent[] = []
  for (let after: number | undefined = 0; after !== undefined; ) {
    const page = await store.listAuditEvents({ after, limit: 1000 })
    events.push(...page.events)
    after = page.next
  }
  return events
}

const writer = (id: string): AuditWriter => ({ context: { actor: { type: 'system', id }, source: 'test-host' }, seal: SEAL })

/** Six events on a fresh chain, through the store. */
async function sixEvents(store: Store): Promise<AuditEvent[]> {
  const { context, seal } = writer('tests')
  const events: AuditEvent[] = []
  for (let i = 1; i <= 6; i++) events.push(await store.appendAuditEvent({ ...context, action: 'account.suspend', target: `acct-${i}`, changes: { status: ['active', 'suspended'] } }, seal))
  return events
}

function osUser(): string {
  return userInfo().username
}

for (const dialect of dialects) {
  describe(`the audit trail on ${dialect.name}`, { skip: dialect.skip }, () => {
    it('records each change made through the CLI exactly once, with actor, source, target and changes, and no secret', async (context) => {
      const database = await freshDatabase(context, dialect)
      const first = 'first-Secret-pw-1'
      const second = 'second-Secret-pw-2'
      await succeeded(cli(database, ['account', 'create', 'acme', '--allow-ip', '10.0.0.0/24', '--role', 'introspect', '--password-stdin'], `${first}\n`))
      await succeeded(cli(database, ['account', 'set-password', 'acme', '--password-stdin'], `${second}\n`))
      for (const args of [
        ['suspend', 'acme'],
        ['resume', 'acme'],
        ['allow-ip', 'acme', '192.0.2.7'],
        ['deny-ip', 'acme', '10.0.0.0/24'],
        ['revoke-role', 'acme', 'introspect'],
        ['grant', 'acme', 'introspect'],
        ['revoke-tokens', 'acme'],
        ['unlock', 'acme'],
      ]) {
        await succeeded(cli(database, ['account', ...args]))
      }
      const firstKey = /kid:\s+(\S+)/.exec(await succeeded(cli(database, ['keys', 'rotate', '--now'])))![1]!
      const secondKey = /kid:\s+(\S+)/.exec(await succeeded(cli(database, ['keys', 'rotate', '--now'])))![1]!
      await succeeded(cli(database, ['token', 'revoke', 'jti-of-a-token-0001']))
      const store = await openMigrated(context, database)
      const hash = (await store.getAccount('acme'))!.passwordHash
      const privateMaterial = (await store.listKeys()).map((key) => key.privateMaterial)
      await succeeded(cli(database, ['account', 'delete', 'acme']))

      const { events, text } = await listedAuditEvents(database)
      const expected: ExpectedEvent[] = [
        ['account.create', 'acme', { allowed_ips: [null, ['10.0.0.0/24']], roles: [null, ['introspect']], status: [null, 'active'] }],
        ['account.set_password', 'acme', { password: [false, true] }],
        ['account.suspend', 'acme', { status: ['active', 'suspended'] }],
        ['account.resume', 'acme', { status: ['suspended', 'active'] }],
        ['account.allow_ip', 'acme', { allowed_ips: [['10.0.0.0/24'], ['10.0.0.0/24', '192.0.2.7/32']] }],
        ['account.deny_ip', 'acme', { allowed_ips: [['10.0.0.0/24', '192.0.2.7/32'], ['192.0.2.7/32']] }],
        ['account.revoke_role', 'acme', { roles: [['introspect'], []] }],
        ['account.grant_role', 'acme', { roles: [[], ['introspect']] }],
        ['account.revoke_tokens', 'acme'],
        ['account.unlock', 'acme'],
        ['key.create', firstKey, { state: [null, 'next'] }],
        ['key.promote', firstKey, { state: ['next', 'current'] }],
        ['key.create', secondKey, { state: [null, 'next'] }],
        ['key.retire', firstKey, { state: ['current', 'retired'] }],
        ['key.promote', secondKey, { state: ['next', 'current'] }],
        ['token.revoke', 'jti-of-a-token-0001', { revoked: [false, true] }],
        ['account.delete', 'acme', { status: ['active', null] }],
      ]
      // The OS user as actor, the host name as source.
      assertEachChangeOnce(events, expected, { type: 'cli', id: osUser() }, hostname())
      assert.ok(events[1]!.changes.tokens_valid_after, 'a password change revokes earlier tokens')
      assert.ok(events[8]!.changes.tokens_valid_after, 'revoke-tokens moves valid-after')
      assert.ok(events[9]!.changes.lockout, 'unlock moves the lockout generation')

      assertNoSecrets(text, [first, second, hash, ...privateMaterial])

      const verified = await succeeded(cli(database, ['audit', 'verify']))
      assert.match(verified, /^ok: 17 events verified \(hmac-sha256\)$/m)
      assert.match(verified, new RegExp(`^head hash: ${events[16]!.hash}$`, 'm'))

      const table = await succeeded(cli(database, ['audit', 'list', '--account', 'acme', '--action', 'account.suspend']))
      const rows = table.trimEnd().split('\n')
      assert.equal(rows.length, 2, 'a header and the one suspension')
      assert.match(rows[1]!, /^3\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} KST\s+cli:\S+\s+\S+\s+account\.suspend\s+acme\s+status: "active" -> "suspended"; tokens_valid_after: \d+ -> \d+$/)
      const forAcme = (await succeeded(cli(database, ['audit', 'list', '--account', 'acme', '--json']))).trimEnd().split('\n')
      assert.equal(forAcme.length, 11, 'the account filter: its eleven changes')
    })

    it('a CLI without the trail\'s key refuses to append, so the chain stays verifiable', async (context) => {
      const database = await freshDatabase(context, dialect)
      await succeeded(cli(database, ['account', 'create', 'acme', '--allow-ip', '10.0.0.1']))
      const keyless = await runCli(['account', 'suspend', 'acme', ...database.cliArgs], { env: { ...FAST_ARGON2_ENV, ...database.cliEnv } })
      assert.equal(keyless.code, 1)
      assert.match(keyless.stderr, /not sealed with this BIZAUTH_AUDIT_KEY.*\(nothing changed\)/)
      const store = await openMigrated(context, database)
      assert.equal((await store.getAccount('acme'))!.status, 'active', 'no change without its event')
      assert.match(await succeeded(cli(database, ['audit', 'verify'])), /^ok: 1 events verified/m)
    })

    describe('audit verify names the first bad seq', () => {
      async function tampered(context: TestContext, tamper: (events: AuditEvent[]) => string[]): Promise<{ before: AuditEvent[]; result: CliResult; database: Database }> {
        const database = await freshDatabase(context, dialect)
        const store = await openMigrated(context, database)
        const before = await sixEvents(store)
        assert.match(await succeeded(cli(database, ['audit', 'verify'])), /^ok: 6 events verified/m, 'untouched, it verifies')
        await database.sql(tamper(before))
        return { before, database, result: await cli(database, ['audit', 'verify']) }
      }

      function assertBrokenAt(result: CliResult, seq: number): void {
        assert.equal(result.code, 1, `exit code; stdout: ${result.stdout}`)
        assert.match(result.stderr, new RegExp(`audit chain broken at seq ${seq}:`))
      }

      it('an event modified', async (context) => {
        const { result } = await tampered(context, () => [`update audit_events set target = 'mallory' where seq = 3`])
        assertBrokenAt(result, 3)
        assert.match(result.stderr, /hash does not match/)
      })

      it('an event deleted from the middle', async (context) => {
        const { result } = await tampered(context, () => ['delete from audit_events where seq = 4'])
        assertBrokenAt(result, 4)
        assert.match(result.stderr, /seq 4 is missing/)
      })

      it('events reordered', async (context) => {
        const { result } = await tampered(context, () => [
          'update audit_events set seq = -3 where seq = 3',
          'update audit_events set seq = 3 where seq = 4',
          'update audit_events set seq = 4 where seq = -3',
        ])
        assertBrokenAt(result, 3)
      })

      it('an event inserted', async (context) => {
        const { result } = await tampered(context, (events) => [
          'update audit_events set seq = seq + 1000 where seq >= 3',
          'update audit_events set seq = seq - 999 where seq >= 1000',
          // Sealed with plain SHA-256: the most a writer without the key can do.
          `insert into audit_events (seq, time, actor_type, actor_id, source, action, target, changes, prev_hash, hash)
             values (3, ${Date.parse(events[1]!.time)}, 'cli', 'root', 'h', 'account.grant_role', 'mallory', '{}', '${events[1]!.hash}', '${'ab'.repeat(32)}')`,
          `update audit_chain set head_seq = 7`,
        ])
        assertBrokenAt(result, 3)
      })

      it('the chain cut short after a head given with --expect-head', async (context) => {
        const { before, database, result } = await tampered(context, (events) => [
          'delete from audit_events where seq >= 5',
          `update audit_chain set head_seq = 4, head_hash = '${events[3]!.hash}'`,
        ])
        assert.equal(result.code, 0, 'a consistent shorter chain verifies on its own: the kept head is what shows the cut')
        const expecting = await cli(database, ['audit', 'verify', '--expect-head', before[5]!.hash])
        assertBrokenAt(expecting, 5)
        assert.match(expecting.stderr, /ends at seq 4 before the expected head/)
        assert.match(await succeeded(cli(database, ['audit', 'verify', '--expect-head', before[3]!.hash])), /^ok: 4 events/m, 'an older head is still reached')
      })

      it('the last events deleted while the head row still names them', async (context) => {
        const { result } = await tampered(context, () => ['delete from audit_events where seq >= 5'])
        assertBrokenAt(result, 5)
      })
    })

    it('three writers at once leave a gap-free chain that verifies', async (context) => {
      const database = await freshDatabase(context, dialect)
      const stores = [await openMigrated(context, database)]
      for (let i = 1; i < 3; i++) {
        const store = await openStore(database.options)
        context.after(() => store.close())
        stores.push(store)
      }
      const hasher = new PasswordHasher(FAST_ARGON2)
      const perWriter = 12
      await Promise.all(
        stores.map(async (store, writerIndex) => {
          const administration = new AccountAdministration({ store, hasher, audit: writer(`writer-${writerIndex}`) })
          for (let i = 0; i < perWriter; i++) {
            await administration.create({ id: `w${writerIndex}-${i}`, password: 'writer-password-1', allowedIps: ['10.0.0.1'] })
          }
        }),
      )
      const events = await allEvents(stores[0]!)
      assert.deepEqual(events.map((event) => event.seq), Array.from({ length: 3 * perWriter }, (_, i) => i + 1), 'no gap, no duplicate')
      for (let i = 0; i < 3; i++) assert.equal(events.filter((event) => event.actor.id === `writer-${i}`).length, perWriter)
      const verdict = await verifyAuditChain(stores[1]!, SEAL)
      assert.deepEqual(verdict.ok && verdict.events, 3 * perWriter)
    })

    it('pruning keeps a checkpoint the chain still verifies from, and a gap after it is still found', async (context) => {
      const database = await freshDatabase(context, dialect)
      const store = await openMigrated(context, database)
      const { context: who, seal } = writer('tests')
      const oldDay = Date.parse('2020-01-01T00:00:00Z')
      for (let i = 0; i < 5; i++) await store.appendAuditEvent({ ...who, action: 'account.resume', target: `old-${i}`, changes: {} }, seal, new Date(oldDay + i * 86_400_000))
      const recent = [] as AuditEvent[]
      for (let i = 0; i < 3; i++) recent.push(await store.appendAuditEvent({ ...who, action: 'account.resume', target: `new-${i}`, changes: {} }, seal))
      assert.match(await succeeded(cli(database, ['audit', 'prune', '--audit-retention-days', '30'])), /^pruned 5 events older than \d{4}-/)
      const state = await store.auditChainState()
      assert.equal(state.checkpointSeq, 5)
      assert.equal((await allEvents(store)).length, 3)
      const verified = await succeeded(cli(database, ['audit', 'verify', '--expect-head', recent[2]!.hash]))
      assert.match(verified, /^ok: 3 events verified \(hmac-sha256, from the checkpoint at seq 5\)$/m)
      await database.sql(['delete from audit_events where seq = 6'])
      const broken = await cli(database, ['audit', 'verify'])
      assert.equal(broken.code, 1)
      assert.match(broken.stderr, /broken at seq 6: seq 6 is missing/)
    })

    it('export streams JSON lines from --since, page by page', async (context) => {
      const database = await freshDatabase(context, dialect)
      const store = await openMigrated(context, database)
      const { context: who, seal } = writer('tests')
      const count = 1203
      const base = Date.parse('2026-01-01T00:00:00Z')
      for (let i = 0; i < count; i++) await store.appendAuditEvent({ ...who, action: 'account.resume', target: `a-${i}`, changes: {} }, seal, new Date(base + i * 1000))
      const exported = (await succeeded(cli(database, ['audit', 'export', '--since', '2026-01-01T00:10:00Z']))).trimEnd().split('\n')
      assert.equal(exported.length, count - 600, 'everything at or after --since, across several pages')
      assert.deepEqual(JSON.parse(exported[0]!).seq, 601)
      assert.deepEqual(JSON.parse(exported.at(-1)!).seq, count)
      const missing = await cli(database, ['audit', 'export'])
      assert.equal(missing.code, 2)
      assert.match(missing.stderr, /missing --since/)
    })
  })
}

describe('what the server records by itself', () => {
  it('automatic rotation: each creation, promotion, retirement and removal, by system/rotation', async (context) => {
    const t = await startTestApp({ keyPromotionDelaySeconds: 10 })
    context.after(() => t.close())
    const options = {
      algorithm: t.config.signingAlgorithm,
      encryption: createKeyEncryption(undefined),
      promotionDelaySeconds: 10,
      rotationIntervalSeconds: 60,
      refreshSeconds: 3600,
      clockSkewSeconds: 60,
      audit: t.services.auditWriter({ type: 'system', id: 'rotation' }),
    }
    const start = Date.now()
    await maintainKeys(t.store, options, new Date(start + 61_000)) // rotation due: a next key
    await maintainKeys(t.store, options, new Date(start + 72_000)) // its delay passed: promoted
    await maintainKeys(t.store, options, new Date(start + 72_000 + (TOKEN_LIFETIME_SECONDS + 61) * 1000)) // the retired key removed (and a new next key)
    const events = await allEvents(t.store)
    assert.deepEqual(
      events.map((event) => event.action),
      ['key.create', 'key.create', 'key.retire', 'key.promote', 'key.create', 'key.remove'],
    )
    for (const event of events) {
      assert.deepEqual(event.actor, { type: 'system', id: 'rotation' })
      assert.equal(event.source, hostname())
    }
    const [firstKid, secondKid] = [events[0]!.target, events[1]!.target]
    assert.deepEqual([events[2]!.target, events[3]!.target, events[5]!.target], [firstKid, secondKid, firstKid])
    assert.equal((await verifyAuditChain(t.store, t.services.auditSeal)).ok, true)
  })

  it('a lockout and an IP block: one event per episode, not per request', async (context) => {
    const t = await startTestApp({ lockoutThreshold: 3, ipFailureLimit: 4, ipFailureWindowSeconds: 600 })
    context.after(() => t.close())
    await t.createAccount('acme', 'right', { allowIps: ['0.0.0.0/0'] })
    for (let i = 0; i < 3; i++) assert.equal(answerCode(await t.token(basic('acme', `wrong-${i}`), { remoteAddress: `192.0.2.${i + 1}` })), '3007')
    for (let i = 0; i < 3; i++) assert.equal(answerCode(await t.token(basic('acme', 'wrong'), { remoteAddress: '192.0.2.50' })), '3008')
    for (let i = 0; i < 4; i++) assert.equal(answerCode(await t.token(basic(`nobody-${i}`, 'x'), { remoteAddress: '198.51.100.9' })), '3006')
    for (let i = 0; i < 3; i++) assert.equal(answerCode(await t.token(basic('nobody', 'x'), { remoteAddress: '198.51.100.9' })), '3008')
    const events = await allEvents(t.store)
    const lockouts = events.filter((event) => event.action === 'security.lockout')
    const blocks = events.filter((event) => event.action === 'security.ip_block')
    assert.equal(lockouts.length, 1)
    assert.equal(lockouts[0]!.target, 'acme')
    assert.deepEqual(lockouts[0]!.actor, { type: 'system', id: 'limits' })
    assert.deepEqual(lockouts[0]!.changes.level, [0, 1])
    assert.equal(blocks.length, 1)
    assert.equal(blocks[0]!.target, '198.51.100.9')
    assert.equal((await verifyAuditChain(t.store, t.services.auditSeal)).ok, true)
  })

  it('POST /v1/token/revoke: the holder as actor, its address as source, the jti and never the token', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    await t.createAccount('acme', 'right-password')
    const { accesstoken } = JSON.parse((await t.token(basic('acme', 'right-password'))).body) as { accesstoken: string }
    const revoked = await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${accesstoken}` } })
    assert.equal(revoked.statusCode, 200)
    const events = (await allEvents(t.store)).filter((event) => event.action.startsWith('token.'))
    const jti = String(JSON.parse(Buffer.from(accesstoken.split('.')[1]!, 'base64url').toString('utf8')).jti)
    assert.deepEqual(
      events.map((event) => [event.action, event.target, event.actor, event.source]),
      [['token.revoke', jti, { type: 'account', id: 'acme' }, '127.0.0.1']],
    )
    const text = JSON.stringify(events)
    assert.ok(!text.includes(accesstoken) && !text.includes(accesstoken.split('.')[2]!) && !text.includes('right-password'))
  })
})
