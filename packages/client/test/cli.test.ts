import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { answerError, startFakeTokenService, type FakeTokenService } from './support/fake-token-service.js'

const bin = fileURLToPath(new URL('../../bin/bizauth-token.js', import.meta.url))
const PASSWORD = 'cli-secret-password'
let service: FakeTokenService | undefined

afterEach(async () => {
  await service?.close()
  service = undefined
})

function runCommand(args: string[], stdin: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('close', (status) => resolve({ status, stdout, stderr }))
    child.stdin.end(stdin)
  })
}

test('prints the token JSON, reading the password from the first line of stdin', async () => {
  service = await startFakeTokenService()
  const result = await runCommand(['--account', 'acme', '--password-stdin', '--base-url', service.url], `${PASSWORD}\nignored second line\n`)
  assert.equal(result.status, 0, result.stderr)
  const printed = JSON.parse(result.stdout)
  assert.equal(printed.accessToken, service.issuedTokens[0])
  assert.equal(printed.type, 'Bearer')
  assert.match(printed.expired, /^\d{14}$/)
  assert.ok(!Number.isNaN(Date.parse(printed.expiresAt)))
  assert.equal(service.tokenAuthorizations[0], `Basic ${Buffer.from(`acme:${PASSWORD}`).toString('base64')}`)
})

test('with --store, a second run reuses the token instead of issuing another', async () => {
  service = await startFakeTokenService()
  const directory = mkdtempSync(join(tmpdir(), 'bizauth-cli-'))
  try {
    const args = ['--account', 'acme', '--password-stdin', '--base-url', service.url, '--store', join(directory, 'tokens.json')]
    const first = await runCommand(args, PASSWORD)
    const second = await runCommand(args, PASSWORD)
    assert.equal(first.status, 0, first.stderr)
    assert.equal(second.status, 0, second.stderr)
    assert.equal(JSON.parse(first.stdout).accessToken, JSON.parse(second.stdout).accessToken)
    assert.equal(service.tokenRequests, 1)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
})

test('a failure exits non-zero with "CODE description" on stderr and no secret', async () => {
  service = await startFakeTokenService(answerError(400, '3007', "The account's password is invalid."))
  const result = await runCommand(['--account', 'acme', '--password-stdin', '--base-url', service.url], PASSWORD)
  assert.equal(result.status, 1)
  assert.equal(result.stdout, '')
  assert.equal(result.stderr, "3007 The account's password is invalid.\n")
  assert.equal(service.tokenRequests, 1)
})

test('usage errors exit 2; there is no --password flag', async () => {
  for (const args of [['--account', 'acme'], ['--account', 'acme', '--password', PASSWORD], ['--password-stdin']]) {
    const result = await runCommand(args, PASSWORD)
    assert.equal(result.status, 2, args.join(' '))
    assert.ok(!result.stderr.includes(PASSWORD), result.stderr)
  }
  const empty = await runCommand(['--account', 'acme', '--password-stdin', '--base-url', 'http://127.0.0.1:9'], '')
  assert.equal(empty.status, 2)
})

test('--help documents every flag', async () => {
  const result = await runCommand(['--help'], '')
  assert.equal(result.status, 0)
  for (const flag of ['--account', '--password-stdin', '--base-url', '--store', '--timeout-ms', '--retries', '--help']) {
    assert.ok(result.stdout.includes(flag), flag)
  }
})
