/**
 * Password prompts on a terminal: the CLI runs inside a pseudo-terminal made by util-linux
 * `script`, and the test types only after each prompt appears, as a person would. Nothing typed
 * may be echoed, and the two entries must match.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { DEFAULTS } from '../src/config.js'
import { openStore } from '../src/store/open.js'
import { BIZAUTH_BIN, childEnv, runCli } from './helpers/cli.js'
import { useTempDir } from './helpers/tmp.js'

const scriptMissing = spawnSync('script', ['--version']).status === 0 ? undefined : 'util-linux `script` is not installed (it provides the pseudo-terminal)'

interface TerminalSession {
  code: number | null
  /** Everything the terminal showed. */
  screen: string
}

/** Runs `bizauth ARGS` on a pseudo-terminal, answering each prompt with the next entry. */
function runOnTerminal(args: string[], answers: string[]): Promise<TerminalSession> {
  const command = [process.execPath, BIZAUTH_BIN, ...args].map((part) => `'${part.replace(/'/g, `'\\''`)}'`).join(' ')
  const child = spawn('script', ['-qec', command, '/dev/null'], { env: childEnv() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  let screen = ''
  let answered = 0
  const prompt = /(New password|Repeat the password): $/
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk
    if (answered < answers.length && prompt.test(screen)) child.stdin.write(`${answers[answered++]}\r`)
  })
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, screen })
    })
  })
}

async function storedHash(dataDir: string, id: string): Promise<string | undefined> {
  const store = await openStore({ dataDir })
  try {
    await store.migrate()
    return (await store.getAccount(id))?.passwordHash
  } finally {
    await store.close()
  }
}

describe('password prompts on a terminal', { skip: scriptMissing }, () => {
  const hasher = new PasswordHasher(DEFAULTS.argon2)

  it('create asks twice without echo and stores that password', async (t) => {
    const dataDir = await useTempDir(t)
    const session = await runOnTerminal(['account', 'create', 'acme', '--data-dir', dataDir], ['typed-secret-1', 'typed-secret-1'])
    assert.equal(session.code, 0, session.screen)
    assert.match(session.screen, /New password: [\s\S]*Repeat the password: [\s\S]*created account acme/)
    assert.ok(!session.screen.includes('typed-secret-1'), 'the password was echoed')
    assert.doesNotMatch(session.screen, /^password: /m, 'no generated password on a terminal')
    assert.equal(await hasher.verify((await storedHash(dataDir, 'acme'))!, 'typed-secret-1'), true)
  })

  it('two different entries change nothing', async (t) => {
    const dataDir = await useTempDir(t)
    const created = await runCli(['account', 'create', 'acme', '--password-stdin', '--data-dir', dataDir], { input: 'first-pw-1\n' })
    assert.equal(created.code, 0)
    const session = await runOnTerminal(['account', 'set-password', 'acme', '--data-dir', dataDir], ['typed-secret-2', 'typed-secret-3'])
    assert.equal(session.code, 1)
    assert.match(session.screen, /bizauth: the two passwords differ; nothing changed/)
    assert.equal(await hasher.verify((await storedHash(dataDir, 'acme'))!, 'first-pw-1'), true)
  })

  it('set-password on a terminal changes the password', async (t) => {
    const dataDir = await useTempDir(t)
    assert.equal((await runCli(['account', 'create', 'acme', '--password-stdin', '--data-dir', dataDir], { input: 'first-pw-1\n' })).code, 0)
    const session = await runOnTerminal(['account', 'set-password', 'acme', '--data-dir', dataDir], ['typed-secret-4', 'typed-secret-4'])
    assert.equal(session.code, 0, session.screen)
    assert.ok(!session.screen.includes('typed-secret-4'))
    assert.equal(await hasher.verify((await storedHash(dataDir, 'acme'))!, 'typed-secret-4'), true)
  })
})
