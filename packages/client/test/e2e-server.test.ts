/**
 * End to end against this project's real server (`bizauth serve`, a child process), over HTTP and
 * over HTTPS with a throwaway CA passed to the client through `fetch`.
 */
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rejectionOf } from './support/rejection.js'
import { readJwtExpiryMs } from '../src/jwt-expiry.js'
import { parseKstTimestamp } from '../src/kst.js'
import type { RetryEvent } from '../src/retry.js'
import { TokenClient } from '../src/token-client.js'
import { fetchTrustingCa } from './support/https-fetch.js'

const serverBin = fileURLToPath(new URL('../../../server/bin/bizauth.js', import.meta.url))
const ACCOUNT = 'e2e-client'
const PASSWORD = 'correct horse: battery staple'
const SERVER_START_DEADLINE_MS = 30_000

interface RunningServer {
  url: string
  process: ChildProcess
  output: () => string
}

function createAccount(dataDir: string): void {
  const result = spawnSync(process.execPath, [serverBin, 'account', 'create', ACCOUNT, '--allow-ip', '127.0.0.1', '--password-stdin', '--data-dir', dataDir], {
    input: `${PASSWORD}\n`,
    encoding: 'utf8',
  })
  assert.equal(result.status, 0, `account create failed: ${result.stdout}${result.stderr}`)
}

/** Starts `bizauth serve` and resolves when it logs `"msg":"listening"` with its url. */
function startServer(dataDir: string, extraArgs: string[] = []): Promise<RunningServer> {
  // No admin listener: its default port 8081 may be held by another server on the machine.
  const child = spawn(process.execPath, [serverBin, 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', 'off', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGTERM')
      reject(new Error(`the server did not log "listening" within ${SERVER_START_DEADLINE_MS} ms:\n${output}`))
    }, SERVER_START_DEADLINE_MS)
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk })
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
      for (const line of output.split('\n')) {
        let entry: { msg?: unknown; url?: unknown }
        try { entry = JSON.parse(line) } catch { continue }
        if (entry.msg === 'listening' && typeof entry.url === 'string') {
          clearTimeout(deadline)
          resolve({ url: entry.url, process: child, output: () => output })
          return
        }
      }
    })
    child.on('exit', (code) => {
      clearTimeout(deadline)
      reject(new Error(`the server exited (${code}) before listening:\n${output}`))
    })
  })
}

async function stopServer(server: RunningServer | undefined): Promise<void> {
  if (server === undefined || server.process.exitCode !== null) return
  const exited = new Promise((resolve) => server.process.on('exit', resolve))
  server.process.kill('SIGTERM')
  await exited
}

function makeCertificates(directory: string): { caPath: string; certPath: string; keyPath: string } {
  const run = (args: string[]): void => {
    const result = spawnSync('openssl', args, { cwd: directory, encoding: 'utf8' })
    assert.equal(result.status, 0, `openssl ${args[0]} failed: ${result.stderr}`)
  }
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1',
    '-subj', '/CN=bizauth throwaway test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(join(directory, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n')
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'server.ext'])
  return { caPath: join(directory, 'ca.pem'), certPath: join(directory, 'server.pem'), keyPath: join(directory, 'server.key') }
}


function assertContractToken(token: { accessToken: string; type: string; expiresAt: Date; expired: string }): void {
  assert.equal(token.type, 'Bearer')
  assert.equal(token.accessToken.split('.').length, 3, 'a JWT')
  const expiredMs = parseKstTimestamp(token.expired)
  assert.ok(expiredMs !== undefined)
  // contract.md §1: 24 hours after issue; §4: the JWT's exp is the same instant as `expired`.
  assert.ok(Math.abs(expiredMs - (Date.now() + 86_400_000)) < 120_000, `expired ${token.expired} is not ~24 h ahead`)
  const expMs = readJwtExpiryMs(token.accessToken)
  if (expMs !== undefined) assert.ok(Math.abs(expMs - expiredMs) <= 1000, 'exp and expired name the same second')
  assert.equal(token.expiresAt.getTime(), Math.min(expiredMs, expMs ?? Infinity))
}

describe('end to end against bizauth serve over HTTP', () => {
  let directory: string
  let server: RunningServer | undefined

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'bizauth-client-e2e-'))
    createAccount(directory)
    server = await startServer(directory)
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  })

  after(async () => {
    await stopServer(server)
    rmSync(directory, { recursive: true, force: true })
  })

  test('getToken() issues a contract token; concurrent calls share it', async () => {
    const issued: unknown[] = []
    const client = new TokenClient({ account: ACCOUNT, password: PASSWORD, baseUrl: server!.url, onTokenIssued: (event) => issued.push(event) })
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getToken()))
    assert.equal(new Set(tokens.map((token) => token.accessToken)).size, 1)
    assert.equal(issued.length, 1)
    assertContractToken(tokens[0]!)
    assert.equal(await client.authorization(), `Bearer ${tokens[0]!.accessToken}`)
  })

  test('a wrong password is 3007 and is not retried', async () => {
    const retries: unknown[] = []
    const client = new TokenClient({ account: ACCOUNT, password: 'wrong password', baseUrl: server!.url, onRetry: (event) => retries.push(event) })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, '3007')
    assert.equal(error.httpStatus, 400)
    assert.equal(error.retryable, false)
    assert.deepEqual(retries, [])
    assert.ok(!error.message.includes('wrong password'))
  })

  test('an unknown account is 3006, not retried', async () => {
    const client = new TokenClient({ account: 'nobody-here', password: PASSWORD, baseUrl: server!.url, retries: 3 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, '3006')
    assert.equal(error.retryable, false)
  })
})

describe('end to end against bizauth serve with --rate-limit 1 --rate-limit-window 1 (contract.md §6)', () => {
  let directory: string
  let server: RunningServer | undefined

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'bizauth-client-e2e-rate-'))
    createAccount(directory)
    server = await startServer(directory, ['--rate-limit', '1', '--rate-limit-window', '1'])
  })

  after(async () => {
    await stopServer(server)
    rmSync(directory, { recursive: true, force: true })
  })

  test('a second client of the account within the window gets 429/5002, waits Retry-After, and then its token', async () => {
    await new TokenClient({ account: ACCOUNT, password: PASSWORD, baseUrl: server!.url }).getToken()
    const retries: RetryEvent[] = []
    const second = new TokenClient({ account: ACCOUNT, password: PASSWORD, baseUrl: server!.url, onRetry: (event) => retries.push(event) })
    assertContractToken(await second.getToken())
    assert.equal(retries.length, 1)
    assert.deepEqual([retries[0]!.error.code, retries[0]!.error.httpStatus], ['5002', 429])
    assert.equal(retries[0]!.delayMs, 1000, 'Retry-After: 1, the rest of the one-second window')
  })
})

describe('end to end against bizauth serve over HTTPS with a private CA', () => {
  let directory: string
  let server: RunningServer | undefined
  let ca: string

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'bizauth-client-e2e-tls-'))
    const { caPath, certPath, keyPath } = makeCertificates(directory)
    ca = readFileSync(caPath, 'utf8')
    createAccount(join(directory, 'data'))
    server = await startServer(join(directory, 'data'), ['--tls-cert', certPath, '--tls-key', keyPath])
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  })

  after(async () => {
    await stopServer(server)
    rmSync(directory, { recursive: true, force: true })
  })

  test('with the CA passed through fetch, the token is issued over verified TLS', async () => {
    const client = new TokenClient({ account: ACCOUNT, password: PASSWORD, baseUrl: server!.url, fetch: fetchTrustingCa(ca) })
    assertContractToken(await client.getToken())
  })

  test('without the CA, verification fails: the library never turns it off', async () => {
    const client = new TokenClient({ account: ACCOUNT, password: PASSWORD, baseUrl: server!.url, retries: 0 })
    const error = await rejectionOf(client.getToken())
    assert.equal(error.code, 'NETWORK')
    assert.match(error.description, /CERT|VERIFY|SIGNATURE|ISSUER/, 'the failure is the certificate check')
  })
})
