/**
 * Issue 13 §5: a password in `--database-url` shows in `ps`. The URL can come from the
 * environment or from `--database-url-file FILE` (BIZAUTH_DATABASE_URL_FILE), and a password on
 * argv is warned about once, without being printed. Driven through the real CLI.
 */
import assert from 'node:assert/strict'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runCli, startServe } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { useTempDir } from './helpers/tmp.js'

/** Nothing listens on port 1: the command fails to connect, after reading the URL. */
const UNREACHABLE = 'postgres://bizauth:sekrit-pw@127.0.0.1:1/bizauth'
const ARGV_WARNING = /^warning: the --database-url on the command line holds a password.*BIZAUTH_DATABASE_URL or use --database-url-file FILE/

describe('bizauth --database-url-file and the argv password warning', () => {
  it('reads the URL from the file, without its trailing newline, and does not warn', async (t) => {
    const dir = await useTempDir(t)
    const file = join(dir, 'database-url')
    await writeFile(file, `${UNREACHABLE}\n`)
    const result = await runCli(['account', 'list', '--database-url-file', file])
    assert.equal(result.code, 1)
    // The URL was used as written (the newline trimmed): its host and redacted user are named.
    assert.match(result.stderr, /^bizauth: cannot open the store \(PostgreSQL at postgres:\/\/bizauth:\*\*\*@127\.0\.0\.1:1\/bizauth\)/)
    assert.doesNotMatch(result.stderr, /warning/)
    assert.ok(!result.stderr.includes('sekrit-pw'))
  })

  it('takes the file from BIZAUTH_DATABASE_URL_FILE too, and a flag wins over the environment', async (t) => {
    const dir = await useTempDir(t)
    const file = join(dir, 'database-url')
    await writeFile(file, UNREACHABLE)
    const fromEnv = await runCli(['migrate'], { env: { BIZAUTH_DATABASE_URL_FILE: file } })
    assert.equal(fromEnv.code, 1)
    assert.match(fromEnv.stderr, /PostgreSQL at postgres:\/\/bizauth:\*\*\*@127\.0\.0\.1:1\/bizauth/)
    const flagWins = await runCli(['migrate', '--database-url-file', file], { env: { BIZAUTH_DATABASE_URL: 'postgres://other@127.0.0.1:2/other' } })
    assert.match(flagWins.stderr, /127\.0\.0\.1:1\/bizauth/)
  })

  it('says clearly when the file is missing, unreadable, empty, or holds more than one line', async (t) => {
    const dir = await useTempDir(t)
    const missing = await runCli(['account', 'list', '--database-url-file', join(dir, 'nope')])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /^bizauth: cannot read the database URL file .*nope \(--database-url-file\): no such file\n$/)

    const unreadable = join(dir, 'unreadable')
    await writeFile(unreadable, UNREACHABLE)
    await chmod(unreadable, 0o000)
    const denied = await runCli(['account', 'list', '--database-url-file', unreadable])
    assert.equal(denied.code, 1)
    // root reads any file: then the URL is read and the connection fails instead.
    if (process.getuid?.() !== 0) assert.match(denied.stderr, /cannot read the database URL file .*: permission denied/)

    const empty = join(dir, 'empty')
    await writeFile(empty, '\n')
    assert.match((await runCli(['migrate', '--database-url-file', empty])).stderr, /the database URL file .*empty \(--database-url-file\) is empty/)

    const twoLines = join(dir, 'two-lines')
    await writeFile(twoLines, `${UNREACHABLE}\n${UNREACHABLE}\n`)
    const two = await runCli(['migrate', '--database-url-file', twoLines])
    assert.match(two.stderr, /must hold one line/)
    assert.ok(!two.stderr.includes('sekrit-pw'))

    const both = await runCli(['migrate', '--database-url', 'postgres://u@127.0.0.1:1/x', '--database-url-file', empty])
    assert.match(both.stderr, /give --database-url or --database-url-file, not both/)
  })

  it('warns once, without the password, when a URL with a password is on argv; not without one, nor from the environment', async () => {
    const onArgv = await runCli(['account', 'list', '--database-url', UNREACHABLE])
    const lines = onArgv.stderr.trimEnd().split('\n')
    assert.match(lines[0]!, ARGV_WARNING)
    assert.equal(lines.filter((line) => ARGV_WARNING.test(line)).length, 1)
    assert.ok(!onArgv.stderr.includes('sekrit-pw'))

    const serve = await runCli(['serve', '--port', '0', '--database-url', UNREACHABLE])
    assert.equal(serve.stderr.split('\n').filter((line) => ARGV_WARNING.test(line)).length, 1, serve.stderr)
    assert.ok(!serve.stderr.includes('sekrit-pw') && !serve.stdout.includes('sekrit-pw'))

    const noPassword = await runCli(['account', 'list', '--database-url', 'postgres://bizauth@127.0.0.1:1/bizauth'])
    assert.doesNotMatch(noPassword.stderr, /warning/)
    const fromEnv = await runCli(['account', 'list'], { env: { BIZAUTH_DATABASE_URL: UNREACHABLE } })
    assert.doesNotMatch(fromEnv.stderr, /warning/)
  })
})

const skip = await postgresSkipReason()

describe('--database-url-file against a real PostgreSQL', { skip }, () => {
  let database: PostgresTestDatabase
  before(async () => {
    database = await withPostgresDatabase()
  })
  after(() => database?.drop())

  it('every command uses the URL in the file', async (t) => {
    const dir = await useTempDir(t)
    const file = join(dir, 'database-url')
    await writeFile(file, `${database.url}\n`, { mode: 0o600 })
    const created = await runCli(['account', 'create', 'acme', '--allow-ip', '127.0.0.1', '--password-stdin', '--database-url-file', file], {
      input: 'acme password 1\n',
      env: { BIZAUTH_ARGON2_MEMORY: '1024', BIZAUTH_ARGON2_TIME: '1', BIZAUTH_ARGON2_PARALLELISM: '1' },
    })
    assert.equal(created.code, 0, created.stderr)
    const listed = await runCli(['account', 'list'], { env: { BIZAUTH_DATABASE_URL_FILE: file } })
    assert.equal(listed.code, 0, listed.stderr)
    assert.match(listed.stdout, /acme/)
  })
})

describe('a password in --redis-url on argv', () => {
  it('is warned about once, and shows in no output', async (t) => {
    const dir = await useTempDir(t)
    // Nothing listens on port 1: the server starts on its own counters after the connect fails.
    const server = await startServe(['--port', '0', '--data-dir', dir, '--redis-url', 'redis://:redis-sekrit-pw@127.0.0.1:1'])
    t.after(() => server.stop())
    const output = server.stdout() + server.stderr()
    assert.equal(server.stderr().match(/warning: the --redis-url on the command line holds a password.*set BIZAUTH_REDIS_URL instead/g)?.length, 1)
    assert.ok(!output.includes('redis-sekrit-pw'), 'the password is never printed')
  })
})
