/**
 * `bizauth account unlock ID` (issue 13 §5): the real CLI, as a child process, clears the
 * lockout of an account under a running server that shares its SQLite store, with no restart.
 * An operator's `set-password` clears it too (documented in the command's help and the README).
 */
import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { answerCode, basic, startTestApp, type TestApp } from './helpers/app.js'
import { runCli, type CliResult } from './helpers/cli.js'
import { FAST_ARGON2_ENV } from './helpers/server-process.js'

const code = answerCode

async function lockedServer(context: TestContext): Promise<TestApp> {
  const t = await startTestApp()
  context.after(() => t.close())
  await t.createAccount('acme', 'right')
  for (let i = 0; i < t.config.lockoutThreshold; i++) assert.equal(code(await t.token(basic('acme', `wrong-${i}`))), '3007', `failure ${i + 1}`)
  const locked = await t.token(basic('acme', 'right'))
  assert.equal(code(locked), '3008', 'locked: even the right password is refused')
  assert.equal(locked.headers['retry-after'], '60')
  return t
}

function account(t: TestApp, args: string[], input?: string): Promise<CliResult> {
  return runCli(['account', ...args, '--data-dir', t.dataDir], { env: FAST_ARGON2_ENV, ...(input === undefined ? {} : { input }) })
}

function assertSucceeded(result: CliResult): void {
  assert.equal(result.code, 0, `exit code; stderr: ${result.stderr}`)
}

describe('bizauth account unlock', () => {
  it('clears a lockout under the running server: the next right password gets a token', async (context) => {
    const t = await lockedServer(context)
    const result = await account(t, ['unlock', 'acme'])
    assertSucceeded(result)
    assert.equal(result.stdout, 'unlocked acme; its wrong-password count starts again from 0\n')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
    // A fresh count, not a lifted lock with the old count kept: 9 more failures do not lock.
    for (let i = 0; i < t.config.lockoutThreshold - 1; i++) assert.equal(code(await t.token(basic('acme', `again-${i}`))), '3007')
    assert.equal(code(await t.token(basic('acme', 'right'))), '200')
  })

  it('is also what set-password does: the new password works at once', async (context) => {
    const t = await lockedServer(context)
    assertSucceeded(await account(t, ['set-password', 'acme', '--password-stdin'], 'new-password\n'))
    assert.equal(code(await t.token(basic('acme', 'new-password'))), '200')
    assert.equal(code(await t.token(basic('acme', 'right'))), '3007', 'the old password is gone')
  })

  it('leaves an account that is not locked usable, and changes nothing else', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const before = await t.createAccount('calm', 'right')
    assertSucceeded(await account(t, ['unlock', 'calm']))
    const after = await t.store.getAccount('calm')
    assert.equal(after!.passwordHash, before.passwordHash)
    assert.equal(after!.status, before.status)
    assert.equal(after!.tokensValidAfter, before.tokensValidAfter, 'unlock revokes no token')
    assert.equal(code(await t.token(basic('calm', 'right'))), '200')
  })

  it('exits 1 with the usual one-line message for a missing account', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const result = await account(t, ['unlock', 'ghost'])
    assert.equal(result.code, 1)
    assert.equal(result.stdout, '')
    assert.equal(result.stderr, 'bizauth: account "ghost" does not exist; list the accounts with "bizauth account list"\n')
  })

  it('is documented: `bizauth account unlock --help` and the account command list', async () => {
    const help = await runCli(['account', 'unlock', '--help'])
    assertSucceeded(help)
    assert.match(help.stdout, /^Usage: bizauth account unlock ID/)
    assert.match(help.stdout, /3008/)
    assert.match(help.stdout, /no restart/)
    assert.match(help.stdout, /"set-password" clears it too/)
    const list = await runCli(['account', '--help'])
    assertSucceeded(list)
    assert.match(list.stdout, /^\s+unlock\s+\S/m)
  })
})
