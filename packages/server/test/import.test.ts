/**
 * Import with legacy hashes, upgrade on first use, export, and the round trip between dialects
 * (issue 12 §1). Every legacy hash is made by another tool: test/fixtures/legacy-hashes.json
 * (the argon2 reference CLI, Python's hashlib, PHP's manual) and bcryptjs at test time.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseOptions } from '@node-rs/argon2'
import bcryptjs from 'bcryptjs'
import { AccountAdministration } from '../src/accounts/administration.js'
import { ImportStoppedError, type ImportOptions, type ImportProblem } from '../src/accounts/import.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import type { Store } from '../src/store/store.js'
import { FAST_ARGON2, answerCode, basic, startTestApp } from './helpers/app.js'
import { runCli } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase } from './helpers/postgres.js'
import { STORE_DIALECTS, TEST_AUDIT } from './helpers/stores.js'
import { useTempDir } from './helpers/tmp.js'
import { waitFor } from './helpers/wait-for.js'

interface Fixture {
  family: string
  password: string
  hash: string
}

const FIXTURES: Fixture[] = (JSON.parse(readFileSync(new URL('../../test/fixtures/legacy-hashes.json', import.meta.url), 'utf8')) as { hashes: Fixture[] }).hashes
// bcryptjs 3 writes $2b$; $2a$ is the same algorithm for passwords under 255 bytes (only the
// name differs: OpenBSD renamed it for a length bug), which Spring Security still writes.
const BCRYPTJS: Fixture[] = [
  { family: 'bcrypt', password: 'spring password 1', hash: bcryptjs.hashSync('spring password 1', 4).replace(/^\$2b\$/, '$2a$') },
  { family: 'bcrypt', password: 'laravel password 2', hash: bcryptjs.hashSync('laravel password 2', 5) },
]
const ALL_FIXTURES = [...FIXTURES, ...BCRYPTJS]
const CURRENT = { memoryCost: 2048, timeCost: 2, parallelism: 1 }
const OPTIONS: ImportOptions = { onError: 'stop', onConflict: 'error', dryRun: false }

function line(id: string, passwordHash: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id, allowed_ips: ['127.0.0.1'], password_hash: passwordHash, ...extra })
}

async function* linesOf(...lines: string[]): AsyncGenerator<string> {
  yield* lines
}

const hasher = new PasswordHasher(FAST_ARGON2)
const admin = (store: Store) => new AccountAdministration({ store, hasher, audit: TEST_AUDIT })

describe('legacy hashes verify natively and are upgraded to argon2id on first use', () => {
  it('covers argon2id/i/d, bcrypt $2a$/$2b$/$2y$, scrypt and pbkdf2_sha256', () => {
    const families = new Set(ALL_FIXTURES.map((fixture) => fixture.hash.split('$')[fixture.hash.startsWith('$') ? 1 : 0]))
    assert.deepEqual([...families].sort(), ['2a', '2b', '2y', 'argon2d', 'argon2i', 'argon2id', 'pbkdf2_sha256', 'scrypt'])
  })

  it('each family authenticates, goes through the hash queue, and is rehashed after the first success', async (context) => {
    const t = await startTestApp({ argon2: CURRENT })
    context.after(() => t.close())
    const lines = ALL_FIXTURES.map((fixture, index) => line(`legacy${index}`, fixture.hash))
    const report = await admin(t.store).importAccounts(linesOf(...lines), OPTIONS)
    assert.equal(report.created, ALL_FIXTURES.length)

    for (const [index, fixture] of ALL_FIXTURES.entries()) {
      const id = `legacy${index}`
      const queued = t.services.hashQueue.started
      assert.equal(answerCode(await t.token(basic(id, `${fixture.password}x`))), '3007', `${fixture.family}: a wrong password fails`)
      assert.equal((await t.token(basic(id, fixture.password))).statusCode, 200, `${fixture.family}: ${fixture.hash.slice(0, 12)}`)
      assert.ok(t.services.hashQueue.started >= queued + 2, 'both checks went through the bounded queue')
      const upgraded = await waitFor(async () => {
        const account = await t.store.getAccount(id)
        return account && account.passwordHash !== fixture.hash ? account.passwordHash : undefined
      }, { what: `the ${fixture.family} hash to be upgraded` })
      const options = parseOptions(upgraded)
      assert.deepEqual([options.memoryCost, options.timeCost, options.parallelism], [2048, 2, 1])
      assert.ok(upgraded.startsWith('$argon2id$'))
      assert.equal((await t.token(basic(id, fixture.password))).statusCode, 200, 'the password works with the new hash')
    }
  })
})

for (const dialect of STORE_DIALECTS) {
  describe(`account import on ${dialect.name}`, { skip: await dialect.skip() }, () => {
    const good = FIXTURES[0]!.hash

    it('refuses an unknown or malformed hash with its line number, and --on-error stop writes nothing', async (t) => {
      const store = await dialect.open(t)
      const bad = ['$md5$abc', '$2y$31$BCryptRequires22Chrcte/VlQH0piJtjXl.0t1XkA8pw9dMXTpOq', 'pbkdf2_sha256$x$salt$hash', '$scrypt$ln=10,r=8,p=1$c2FsdA$']
      for (const hash of bad) {
        await assert.rejects(admin(store).importAccounts(linesOf(line('ok1', good), line('bad', hash), line('ok2', good)), OPTIONS), (error: unknown) => {
          assert.ok(error instanceof ImportStoppedError)
          assert.equal(error.problem.line, 2)
          assert.match(error.problem.message, /^password_hash: /)
          assert.ok(!error.message.includes(hash), 'the hash is not quoted')
          return true
        })
      }
      assert.equal(await store.countAccounts(), 0, 'nothing half-imported')
    })

    it('--on-error stop after many batches still writes nothing', async (t) => {
      const store = await dialect.open(t)
      const lines = Array.from({ length: 2500 }, (_, index) => line(`bulk${index}`, good))
      lines.push('{"id": "broken"')
      await assert.rejects(admin(store).importAccounts(linesOf(...lines), OPTIONS), ImportStoppedError)
      assert.equal(await store.countAccounts(), 0)
    })

    it('records one audit event per import, in its transaction, with the counts and a digest of the ids', async (t) => {
      const store = await dialect.open(t)
      await admin(store).importAccounts(linesOf(line('imp-a', good), line('imp-b', good)), OPTIONS)
      await assert.rejects(admin(store).importAccounts(linesOf(line('imp-c', good), '{"id": "broken"'), OPTIONS), ImportStoppedError)
      await admin(store).importAccounts(linesOf(line('imp-d', good)), { ...OPTIONS, dryRun: true })
      const { events } = await store.listAuditEvents({ action: 'account.import' })
      assert.equal(events.length, 1, 'a stopped import and a dry run record nothing')
      assert.deepEqual(events[0]!.changes, {
        created: [0, 2],
        updated: [0, 0],
        ids_sha256: [null, createHash('sha256').update('imp-a\nimp-b\n').digest('hex')],
      })
      assert.doesNotMatch(JSON.stringify(events), /\$argon2|\$2[aby]\$/, 'no hash in the event')
    })

    it('--dry-run checks everything, conflicts included, and writes nothing', async (t) => {
      const store = await dialect.open(t)
      await admin(store).create({ id: 'taken', password: 'a password 123' })
      const problems: ImportProblem[] = []
      const report = await admin(store).importAccounts(linesOf(line('new1', good), line('taken', good), '', 'not json'), {
        ...OPTIONS,
        onError: 'skip',
        dryRun: true,
        onProblem: (problem) => problems.push(problem),
      })
      assert.deepEqual([report.created, report.skipped, report.dryRun], [1, 2, true])
      assert.deepEqual(problems.map((problem) => problem.line).sort(), [2, 4])
      assert.equal(await store.countAccounts(), 1)
      assert.equal(await store.getAccount('new1'), undefined)
    })

    it('--on-error skip imports the good lines and reports each bad one', async (t) => {
      const store = await dialect.open(t)
      const problems: ImportProblem[] = []
      const report = await admin(store).importAccounts(
        linesOf(line('a', good), line('b', good, { status: 'paused' }), line('bad id!', good), line('c', good, { roles: ['introspect'], status: 'suspended' }), line('d', good, { extra: 1 })),
        { ...OPTIONS, onError: 'skip', onProblem: (problem) => problems.push(problem) },
      )
      assert.deepEqual([report.lines, report.created, report.skipped], [5, 2, 3])
      assert.deepEqual(problems.map((problem) => [problem.line, problem.message.split(':')[0]]), [[2, 'status'], [3, 'id'], [5, 'unknown field "extra" (the fields are id, allowed_ips, roles, status, password_hash)']])
      const c = (await store.getAccount('c'))!
      assert.deepEqual([c.status, c.roles, c.allowedIps, c.passwordHash], ['suspended', ['introspect'], ['127.0.0.1/32'], good])
    })

    it('an existing id is an error by default, kept with --on-conflict skip, replaced with update', async (t) => {
      const store = await dialect.open(t)
      await admin(store).create({ id: 'acme', password: 'a password 123', allowedIps: ['10.0.0.1'] })
      const before = (await store.getAccount('acme'))!
      await assert.rejects(admin(store).importAccounts(linesOf(line('fresh', good), line('acme', good)), OPTIONS), (error: unknown) => error instanceof ImportStoppedError && error.problem.line === 2)
      assert.equal(await store.countAccounts(), 1)
      // A repeat within the file is a conflict too.
      await assert.rejects(admin(store).importAccounts(linesOf(line('twice', good), line('twice', good)), OPTIONS), (error: unknown) => error instanceof ImportStoppedError && error.problem.line === 2)

      const skipped = await admin(store).importAccounts(linesOf(line('fresh', good), line('acme', good)), { ...OPTIONS, onConflict: 'skip' })
      assert.deepEqual([skipped.created, skipped.unchanged], [1, 1])
      assert.deepEqual(await store.getAccount('acme'), before)

      const updated = await admin(store).importAccounts(linesOf(line('acme', good, { allowed_ips: ['192.0.2.1'] })), { ...OPTIONS, onConflict: 'update' })
      assert.equal(updated.updated, 1)
      const after = (await store.getAccount('acme'))!
      assert.deepEqual([after.passwordHash, after.allowedIps, after.version], [good, ['192.0.2.1/32'], before.version + 1])
    })

    it('a re-imported id starts where its deleted predecessor\'s revocations end', async (t) => {
      const store = await dialect.open(t)
      await admin(store).create({ id: 'ghost', password: 'a password 123' })
      const deleted = await admin(store).delete('ghost')
      await admin(store).importAccounts(linesOf(line('ghost', good)), OPTIONS)
      assert.equal((await store.getAccount('ghost'))!.tokensValidAfter, deleted.revocation!.validAfter)
    })

    it('export streams the same lines, hashes only with includeHashes', async (t) => {
      const store = await dialect.open(t)
      const lines = Array.from({ length: 1203 }, (_, index) => line(`user${String(index).padStart(5, '0')}`, good, { roles: [], status: 'active' }))
      await admin(store).importAccounts(linesOf(...lines), OPTIONS)
      const exported: string[] = []
      for await (const account of admin(store).exportAccounts({ includeHashes: true })) exported.push(JSON.stringify(account))
      assert.deepEqual(exported, lines.map((text) => JSON.stringify({ ...JSON.parse(text), allowed_ips: ['127.0.0.1/32'] })).map((text) => {
        const { id, allowed_ips, roles, status, password_hash } = JSON.parse(text)
        return JSON.stringify({ id, allowed_ips, roles, status, password_hash })
      }))
      for await (const account of admin(store).exportAccounts({ includeHashes: false })) assert.equal('password_hash' in account, false)
    })
  })
}

describe('bizauth account export | import: SQLite to PostgreSQL', { skip: await postgresSkipReason() }, () => {
  it('every account authenticates with its old password after the move', async (t) => {
    const dir = await useTempDir(t)
    const sqlite = ['--data-dir', join(dir, 'sqlite')]
    const file = join(dir, 'legacy.jsonl')
    writeFileSync(file, ALL_FIXTURES.map((fixture, index) => line(`legacy${index}`, fixture.hash)).join('\n') + '\n')
    const imported = await runCli(['account', 'import', file, ...sqlite])
    assert.equal(imported.code, 0, imported.stderr)
    assert.match(imported.stdout, new RegExp(`${ALL_FIXTURES.length} created`))
    const created = await runCli(['account', 'create', 'native', '--allow-ip', '127.0.0.1', '--password-stdin', ...sqlite], { input: 'native password 1\n' })
    assert.equal(created.code, 0, created.stderr)

    const exported = await runCli(['account', 'export', '--include-hashes', ...sqlite])
    assert.equal(exported.code, 0, exported.stderr)
    assert.equal(exported.stdout.trim().split('\n').length, ALL_FIXTURES.length + 1)
    const withoutHashes = await runCli(['account', 'export', ...sqlite])
    assert.ok(!withoutHashes.stdout.includes('password_hash'))

    const database = await withPostgresDatabase()
    t.after(() => database.drop())
    const moved = await runCli(['account', 'import', '-', '--database-url', database.url], { input: exported.stdout })
    assert.equal(moved.code, 0, moved.stderr)

    const app = await startTestApp({}, { databaseUrl: database.url })
    t.after(() => app.close())
    for (const [index, fixture] of ALL_FIXTURES.entries()) assert.equal((await app.token(basic(`legacy${index}`, fixture.password))).statusCode, 200, fixture.family)
    assert.equal((await app.token(basic('native', 'native password 1'))).statusCode, 200)
  })
})

describe('bizauth account import (the CLI)', () => {
  it('--dry-run and a bad line: one-line messages with the line number, nothing written', async (t) => {
    const dir = await useTempDir(t)
    const store = ['--data-dir', join(dir, 'data')]
    const file = join(dir, 'in.jsonl')
    writeFileSync(file, `${line('one', FIXTURES[0]!.hash)}\n${line('two', 'plaintext')}\n`)
    const stopped = await runCli(['account', 'import', file, ...store])
    assert.equal(stopped.code, 1)
    assert.match(stopped.stderr, /^bizauth: line 2: password_hash: not a supported hash format .*; nothing was imported/)
    const dry = await runCli(['account', 'import', file, '--dry-run', '--on-error', 'skip', ...store])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stdout, /^dry run: 2 lines checked, would be 1 created, .*1 lines skipped; nothing was written/)
    assert.match(dry.stderr, /^line 2: password_hash: .*\(skipped\)$/m)
    const list = await runCli(['account', 'list', '--json', ...store])
    assert.equal(list.stdout.trim(), '[]')
    const usage = await runCli(['account', 'import', file, '--on-conflict', 'merge', ...store])
    assert.equal(usage.code, 2)
  })
})
