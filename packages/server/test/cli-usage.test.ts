/**
 * The `bizauth` command line itself: help generated from the settings table, usage errors
 * (exit 2), value and state errors (exit 1), all as one line without a stack or a secret.
 * Each case runs the real bin/bizauth.js as a child process.
 */
import { describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SETTINGS, SETTING_LIST } from '../src/config.js'
import { runCli, type CliResult } from './helpers/cli.js'
import { useTempDir } from './helpers/tmp.js'

const ACCOUNT_SUB_COMMANDS = [
  'create', 'list', 'show', 'set-password', 'suspend', 'resume', 'allow-ip', 'deny-ip', 'delete', 'grant', 'revoke-role', 'revoke-tokens',
]

/** One non-empty line on stderr, nothing on stdout, no stack frame. */
function assertOneLineFailure(result: CliResult, code: number, pattern: RegExp): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`)
  assert.equal(result.stdout, '')
  assert.match(result.stderr.trimEnd(), pattern)
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line, got: ${result.stderr}`)
  assert.doesNotMatch(result.stderr, /\n\s+at /)
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** A database URL with a password on argv is warned about first (issue 13 §5); the failure line follows. */
function afterArgvPasswordWarning(result: CliResult): CliResult {
  const [warning, ...rest] = result.stderr.split('\n')
  assert.match(warning!, /^warning: the --database-url on the command line holds a password/)
  return { ...result, stderr: rest.join('\n') }
}

describe('bizauth --help', () => {
  it('lists the top-level commands and exits 0', async () => {
    const result = await runCli(['--help'])
    assert.equal(result.code, 0)
    for (const command of ['serve', 'migrate', 'account']) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'))
  })

  it('account --help lists every sub-command of the issue', async () => {
    const result = await runCli(['account', '--help'])
    assert.equal(result.code, 0)
    for (const command of ACCOUNT_SUB_COMMANDS) assert.match(result.stdout, new RegExp(`^  ${command} `, 'm'), command)
  })

  it('every account sub-command has its own help, naming --data-dir and --database-url', async () => {
    const results = await Promise.all(ACCOUNT_SUB_COMMANDS.map((command) => runCli(['account', command, '--help'])))
    results.forEach((result, index) => {
      assert.equal(result.code, 0, ACCOUNT_SUB_COMMANDS[index])
      assert.match(result.stdout, new RegExp(`^Usage: bizauth account ${ACCOUNT_SUB_COMMANDS[index]} `))
      assert.match(result.stdout, /--data-dir DIR[\s\S]*env BIZAUTH_DATA_DIR; default: \.\/data/)
      assert.match(result.stdout, /--database-url URL[\s\S]*env BIZAUTH_DATABASE_URL/)
    })
  })

  it('serve --help lists every setting of the table with its environment variable and default', async () => {
    const result = await runCli(['serve', '--help'])
    assert.equal(result.code, 0)
    let flagged = 0
    for (const setting of SETTING_LIST) {
      if (setting.flag === undefined) {
        // Environment-only: named in the notes with its description, and no flag anywhere.
        const note = new RegExp(`^  ${setting.env}\\n +${escape(setting.description)}\\n +\\(default: `, 'm')
        assert.match(result.stdout, note, `${setting.key}: ${setting.env} in the notes`)
        continue
      }
      flagged++
      const block = new RegExp(`^  --${setting.flag}( \\S+)?\\n +${escape(setting.description)}\\n +\\(env ${setting.env}; default: [^)]`, 'm')
      assert.match(result.stdout, block, `${setting.key}: --${setting.flag} with ${setting.env}`)
    }
    assert.ok(flagged >= 40, `every flag of the table, got ${flagged}`)
    assert.match(result.stdout, /^  --port PORT\n.*\n +\(env BIZAUTH_PORT; default: 8080\)/m)
    assert.match(result.stdout, /^  --argon2-memory N\n.*\n +\(env BIZAUTH_ARGON2_MEMORY; default: 19456\)/m)
    assert.match(result.stdout, /^  --database-url-file FILE\n/m, 'the URL file sits with the store settings')
    assert.doesNotMatch(result.stdout, /--key-encryption-key/, 'the secret has no flag')
  })

  it('every command that opens the store lists the store settings of the table; only serve lists the others', async () => {
    const store = SETTING_LIST.filter((setting) => setting.commands === 'store')
    assert.ok(store.length >= 6)
    for (const args of [['migrate'], ['account', 'list'], ['keys', 'list']]) {
      const { stdout } = await runCli([...args, '--help'])
      for (const setting of store) assert.match(stdout, new RegExp(`^  --${setting.flag} .*\\n.*\\n +\\(env ${setting.env}; `, 'm'), `${args.join(' ')}: --${setting.flag}`)
      assert.ok(!stdout.includes(`--${SETTINGS.port.flag} `), `${args.join(' ')} takes no serve-only setting`)
    }
  })

  it('--version prints the package version', async () => {
    const result = await runCli(['--version'])
    assert.equal(result.code, 0)
    assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/)
  })
})

describe('bad usage exits 2 with one line that names the problem and points to --help', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /^bizauth: missing command .*See "bizauth --help"/],
    [['nope'], /^bizauth: unknown command "nope".*See "bizauth --help"/],
    [['--data-dir', 'x', 'account'], /^bizauth: unexpected option "--data-dir" before the command/],
    [['account'], /^bizauth account: missing command .*See "bizauth account --help"/],
    [['account', 'rename', 'a'], /^bizauth account: unknown command "rename"/],
    [['account', 'create'], /^bizauth account create: missing ID\. See "bizauth account create --help"/],
    [['account', 'allow-ip', 'acme'], /^bizauth account allow-ip: missing CIDR\./],
    [['account', 'grant', 'acme'], /^bizauth account grant: missing ROLE\./],
    [['account', 'create', 'acme', '--bogus'], /^bizauth account create: unknown option "--bogus"\./],
    [['account', 'list', '--data-dir'], /^bizauth account list: option "--data-dir" needs a value\./],
    [['account', 'show', 'a', 'b'], /^bizauth account show: too many arguments \(expected ID;/],
    [['serve', '--bogus'], /^bizauth serve: unknown option "--bogus"\./],
  ]
  for (const [args, pattern] of cases) {
    it(`bizauth ${args.join(' ') || '(nothing)'}`, async () => {
      assertOneLineFailure(await runCli(args), 2, pattern)
    })
  }

  it('never echoes a password typed into argv', async () => {
    for (const args of [
      ['account', 'create', 'acme', '--password=hunter2-secret'],
      ['account', 'create', 'acme', '--password', 'hunter2-secret'],
      ['account', 'create', 'acme', 'hunter2-secret'],
      ['account', 'set-password', 'acme', 'hunter2-secret'],
    ]) {
      const result = await runCli(args)
      assertOneLineFailure(result, 2, /^bizauth account (create|set-password): /)
      assert.ok(!result.stderr.includes('hunter2-secret'), `echoed: ${result.stderr}`)
    }
  })
})

describe('invalid values and unreachable stores exit 1 with one line that says what to do next', () => {
  it('an unreachable PostgreSQL names it without its password', async () => {
    const result = afterArgvPasswordWarning(await runCli(['account', 'list', '--database-url', 'postgres://bizauth:sekrit-pw@127.0.0.1:1/bizauth']))
    assertOneLineFailure(result, 1, /^bizauth: cannot open the store \(PostgreSQL at postgres:\/\/bizauth:\*\*\*@127\.0\.0\.1:1\/bizauth\): .*check --database-url/)
    assert.ok(!result.stderr.includes('sekrit-pw'))
  })

  it('the same through BIZAUTH_DATABASE_URL', async () => {
    const result = await runCli(['account', 'show', 'acme'], { env: { BIZAUTH_DATABASE_URL: 'postgresql://u:sekrit-pw@127.0.0.1:1/x' } })
    assertOneLineFailure(result, 1, /cannot open the store \(PostgreSQL at /)
    assert.ok(!result.stderr.includes('sekrit-pw'))
  })

  it('a database URL of another kind', async () => {
    const result = afterArgvPasswordWarning(await runCli(['migrate', '--database-url', 'mysql://root:sekrit-pw@127.0.0.1/x']))
    assertOneLineFailure(result, 1, /cannot open the store .*only postgres:\/\/ and postgresql:\/\/ are supported/)
    assert.ok(!result.stderr.includes('sekrit-pw'))
  })

  it('a data directory that cannot be created', async (t) => {
    const dir = await useTempDir(t)
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'a-file'), '')
    const result = await runCli(['account', 'list', '--data-dir', join(dir, 'a-file', 'data')])
    assertOneLineFailure(result, 1, /cannot open the store \(SQLite at .*\): .*check --data-dir/)
  })

  it('serve with an invalid setting names the flag and its variable', async () => {
    assertOneLineFailure(await runCli(['serve', '--port', 'http']), 1, /^bizauth: --port \(BIZAUTH_PORT\) must be a whole number.*serve --help/)
    assertOneLineFailure(await runCli(['serve'], { env: { BIZAUTH_PORT: '70000' } }), 1, /--port \(BIZAUTH_PORT\) must be at most 65535/)
    assertOneLineFailure(await runCli(['serve', '--tls-cert', 'cert.pem']), 1, /--tls-cert and --tls-key go together/)
    assertOneLineFailure(await runCli(['serve', '--trust-proxy', '10.0.0.1/8']), 1, /--trust-proxy \(BIZAUTH_TRUST_PROXY\): .*host bits/)
  })

  it('serve with an unreachable PostgreSQL says what to check, without the password', async () => {
    const result = await runCli(['serve', '--database-url', 'postgres://bizauth:sekrit-pw@127.0.0.1:1/bizauth', '--port', '0'])
    assert.equal(result.code, 1)
    assert.match(result.stderr, /^bizauth: cannot start the server: .*ECONNREFUSED.*; check --database-url \/ BIZAUTH_DATABASE_URL/m)
    assert.ok(!(result.stdout + result.stderr).includes('sekrit-pw'))
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  })

  /** A port on 127.0.0.1 that something else holds for the rest of the test. */
  const occupiedPort = async (t: TestContext): Promise<number> => {
    const { createServer } = await import('node:net')
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    return (blocker.address() as { port: number }).port
  }

  it('serve reports a port in use in one line', async (t) => {
    const port = await occupiedPort(t)
    const dir = await useTempDir(t)
    const result = await runCli(['serve', '--port', String(port), '--data-dir', dir])
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`^bizauth: cannot listen on 127\\.0\\.0\\.1:${port}: the address is in use`, 'm'))
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  })

  it('serve names the admin listener when its port is the one in use', async (t) => {
    const port = await occupiedPort(t)
    const dir = await useTempDir(t)
    const result = await runCli(['serve', '--port', '0', '--admin-port', String(port), '--data-dir', dir])
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`^bizauth: cannot listen on 127\\.0\\.0\\.1:${port} \\(the admin listener\\): the address is in use; .*--admin-port`, 'm'))
  })
})

describe('bizauth migrate and the store location', () => {
  it('migrate creates the SQLite store owner-only and says what it did', async (t) => {
    const root = await useTempDir(t)
    const dataDir = join(root, 'data')
    const result = await runCli(['migrate', '--data-dir', dataDir])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^migrated the store \(SQLite at .*bizauth\.sqlite\): the schema is up to date; 0 accounts\n$/)
    assert.equal((await stat(dataDir)).mode & 0o777, 0o700)
    assert.equal((await stat(join(dataDir, 'bizauth.sqlite'))).mode & 0o777, 0o600)
    const again = await runCli(['migrate', '--data-dir', dataDir])
    assert.equal(again.code, 0, 'migrating twice is fine')
  })

  it('BIZAUTH_DATA_DIR is used when --data-dir is absent, and the flag wins over it', async (t) => {
    const root = await useTempDir(t)
    const fromEnv = join(root, 'env')
    const fromFlag = join(root, 'flag')
    const created = await runCli(['account', 'create', 'acme', '--password-stdin'], { env: { BIZAUTH_DATA_DIR: fromEnv }, input: 'pw-1234567\n' })
    assert.equal(created.code, 0, created.stderr)
    const listedFromEnvDir = await runCli(['account', 'list', '--json', '--data-dir', fromEnv])
    assert.deepEqual((JSON.parse(listedFromEnvDir.stdout) as Array<{ id: string }>).map((a) => a.id), ['acme'])
    const flagWins = await runCli(['account', 'list', '--json', '--data-dir', fromFlag], { env: { BIZAUTH_DATA_DIR: fromEnv } })
    assert.deepEqual(JSON.parse(flagWins.stdout), [])
  })
})
