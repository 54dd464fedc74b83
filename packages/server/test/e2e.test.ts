/**
 * End to end (issue 2 §5): the real `bizauth` CLI creates an account, `bizauth serve` runs as a
 * child process on a free port with TZ=America/Los_Angeles, and a token comes back over HTTP and
 * over HTTPS with a throwaway certificate. SIGTERM stops it with exit code 0.
 *
 * Also: the first-account hint of an empty store is a command that works, and a change made with
 * the CLI while the server runs applies to its very next request.
 */
import { after, before, describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { request as httpsRequest } from 'node:https'
import { connect, type Socket } from 'node:net'
import { runCli, startServe, type ServeProcess } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { makeSelfSignedCertificate } from './helpers/tls.js'
import { useTempDir } from './helpers/tmp.js'
import { basic } from './helpers/app.js'

/** A timezone with daylight saving and a negative offset: the worst case for `expired`. */
const SERVER_TZ = 'America/Los_Angeles'

interface TokenAnswer {
  status: number
  contentType: string | undefined
  body: Record<string, unknown>
}

async function requestToken(url: string, account: string, password: string): Promise<TokenAnswer> {
  const response = await fetch(`${url}/v1/token`, { method: 'POST', headers: { authorization: basic(account, password) } })
  return { status: response.status, contentType: response.headers.get('content-type') ?? undefined, body: (await response.json()) as Record<string, unknown> }
}

/** POST /v1/token over HTTPS, trusting only the given certificate (verification stays on). */
function requestTokenOverHttps(url: string, ca: string, account: string, password: string): Promise<TokenAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}/v1/token`, { method: 'POST', ca, headers: { authorization: basic(account, password) } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: JSON.parse(text) as Record<string, unknown> })
        } catch (error) {
          reject(error)
        }
      })
    })
    req.on('error', reject)
    req.end()
  })
}

/** `exp` written in KST (UTC+09:00, no daylight saving) as yyyyMMddHHmmss. */
function kst(epochSeconds: number): string {
  return new Date((epochSeconds + 9 * 3600) * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)
}

function jwtPayload(token: string): Record<string, unknown> {
  const parts = token.split('.')
  assert.equal(parts.length, 3, 'a compact JWS')
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** The contract's success answer (contract.md §1), checked field by field. */
function assertTokenAnswer(answer: TokenAnswer, account: string): void {
  assert.equal(answer.status, 200, JSON.stringify(answer.body))
  assert.equal(answer.contentType, 'application/json; charset=utf-8')
  assert.deepEqual(Object.keys(answer.body).sort(), ['accesstoken', 'expired', 'type'])
  assert.equal(answer.body.type, 'Bearer')
  const payload = jwtPayload(answer.body.accesstoken as string)
  assert.equal(payload.sub, account)
  assert.equal(typeof payload.exp, 'number')
  assert.equal((payload.exp as number) - (payload.iat as number), 86_400)
  assert.match(answer.body.expired as string, /^\d{14}$/)
  assert.equal(answer.body.expired, kst(payload.exp as number), `expired is exp in KST, whatever the server's TZ`)
}

function assertCode(answer: TokenAnswer, code: string): void {
  assert.equal(answer.status, 400, JSON.stringify(answer.body))
  assert.equal(answer.body.code, code, JSON.stringify(answer.body))
}

async function createAccount(storeArgs: string[], id: string, password: string, extra: string[] = []): Promise<void> {
  const result = await runCli(['account', 'create', id, '--allow-ip', '127.0.0.1', ...extra, '--password-stdin', ...storeArgs], { input: `${password}\n` })
  assert.equal(result.code, 0, result.stderr)
}

async function cli(args: string[], input?: string): Promise<void> {
  const result = await runCli(args, input === undefined ? {} : { input })
  assert.equal(result.code, 0, `bizauth ${args.join(' ')}: ${result.stderr}`)
}

/** Starts serve and makes sure the test stops it even when an assertion fails first. */
async function serve(t: TestContext, args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const server = await startServe(['--port', '0', ...args], { env: { TZ: SERVER_TZ, ...env } })
  t.after(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL')
  })
  return server
}

async function assertStopsCleanly(server: ServeProcess): Promise<void> {
  const exit = await server.stop('SIGTERM')
  assert.deepEqual(exit, { code: 0, signal: null }, server.stderr())
  assert.match(server.stdout(), /"msg":"stopped"/)
}

describe('end to end: the bizauth CLI and bizauth serve as child processes', () => {
  it('issues a token over HTTP; expired is exp in KST with the server in America/Los_Angeles', async (t) => {
    const dataDir = await useTempDir(t)
    await createAccount(['--data-dir', dataDir], 'acme', 'e2e-password-1')
    const server = await serve(t, ['--data-dir', dataDir])
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)

    assertTokenAnswer(await requestToken(server.url, 'acme', 'e2e-password-1'), 'acme')
    const second = await requestToken(server.url, 'acme', 'e2e-password-1')
    assertTokenAnswer(second, 'acme')
    assert.doesNotMatch(server.stderr(), /No account exists yet/, 'no hint when an account exists')

    await assertStopsCleanly(server)
    assert.ok(!(server.stdout() + server.stderr()).includes('e2e-password-1'), 'the password reached a log')
    assert.ok(!(server.stdout() + server.stderr()).includes(second.body.accesstoken as string), 'a token reached a log')
  })

  it('issues a token over HTTPS with a throwaway certificate, verified against it', async (t) => {
    const dir = await useTempDir(t)
    const certificate = await makeSelfSignedCertificate(dir)
    const dataDir = `${dir}/data`
    await createAccount(['--data-dir', dataDir], 'acme', 'e2e-password-2')
    const server = await serve(t, ['--data-dir', dataDir, '--tls-cert', certificate.certPath, '--tls-key', certificate.keyPath])
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)

    assertTokenAnswer(await requestTokenOverHttps(server.url, certificate.certPem, 'acme', 'e2e-password-2'), 'acme')
    // Verification is on: without the certificate as CA the same request is refused.
    await assert.rejects(() => fetch(`${server.url}/v1/token`, { method: 'POST' }), TypeError)

    await assertStopsCleanly(server)
  })

  it('on an empty store prints a create command and a curl line to stderr, and the command works', async (t) => {
    const dataDir = await useTempDir(t)
    const server = await serve(t, ['--data-dir', dataDir])
    const [, createCommand] = await server.waitForStderr(/^ {2}npx bizauth (account create demo --allow-ip 127\.0\.0\.1 --data-dir \S+)$/m)
    const [curlLine] = await server.waitForStderr(/^ {2}curl -s -X POST \S+ -u demo:PASSWORD$/m)
    assert.equal(curlLine.trim(), `curl -s -X POST ${server.url}/v1/token -u demo:PASSWORD`)
    assert.equal(createCommand!.split(' ').at(-1), dataDir)
    assert.doesNotMatch(server.stderr(), /^\{/m, 'the hint is text for a person, not a JSON log line')

    const created = await runCli(createCommand!.split(' '))
    assert.equal(created.code, 0, created.stderr)
    const password = /^password: (\S+)$/m.exec(created.stdout)?.[1]
    assert.ok(password)
    assertTokenAnswer(await requestToken(server.url, 'demo', password), 'demo')

    await assertStopsCleanly(server)
  })

  it('a change made with the CLI applies to the very next request, without a restart', async (t) => {
    const dataDir = await useTempDir(t)
    const storeArgs = ['--data-dir', dataDir]
    await createAccount(storeArgs, 'acme', 'old-password-1')
    const server = await serve(t, storeArgs)
    assertTokenAnswer(await requestToken(server.url, 'acme', 'old-password-1'), 'acme')

    await cli(['account', 'suspend', 'acme', ...storeArgs])
    assertCode(await requestToken(server.url, 'acme', 'old-password-1'), '3009')
    await cli(['account', 'resume', 'acme', ...storeArgs])
    assertTokenAnswer(await requestToken(server.url, 'acme', 'old-password-1'), 'acme')

    await cli(['account', 'set-password', 'acme', '--password-stdin', ...storeArgs], 'new-password-2\n')
    assertCode(await requestToken(server.url, 'acme', 'old-password-1'), '3007')
    assertTokenAnswer(await requestToken(server.url, 'acme', 'new-password-2'), 'acme')

    await cli(['account', 'deny-ip', 'acme', '127.0.0.1', ...storeArgs])
    assertCode(await requestToken(server.url, 'acme', 'new-password-2'), '3000')
    await cli(['account', 'allow-ip', 'acme', '10.0.0.0/8', ...storeArgs])
    assertCode(await requestToken(server.url, 'acme', 'new-password-2'), '3010')
    await cli(['account', 'allow-ip', 'acme', '127.0.0.1', ...storeArgs])
    assertTokenAnswer(await requestToken(server.url, 'acme', 'new-password-2'), 'acme')

    await cli(['account', 'delete', 'acme', ...storeArgs])
    assertCode(await requestToken(server.url, 'acme', 'new-password-2'), '3006')

    await assertStopsCleanly(server)
  })
})

/**
 * A POST /v1/token whose body has not been sent yet. It resolves once the server answered
 * `100 Continue`, which proves the request is in flight on the server's side.
 */
async function openRequestInFlight(url: string, account: string, password: string): Promise<{ socket: Socket; finish(): Promise<string> }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let received = ''
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
  socket.on('error', () => undefined)
  socket.write(
    'POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: 2\r\nExpect: 100-continue\r\nAuthorization: ${basic(account, password)}\r\n\r\n`,
  )
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (/^HTTP\/1\.1 100 Continue\r\n\r\n/.test(received)) resolve()
    }
    socket.on('data', check)
    void closed.then(() => reject(new Error(`connection closed before 100 Continue: ${received}`)))
  })
  return {
    socket,
    finish() {
      // Not end(): a half-closed client makes node's HTTP server abort the request.
      // `Connection: close` makes the server close the socket after its answer.
      socket.write('{}')
      return closed
    },
  }
}

/** Polls (bounded) until the port refuses connections: the server has begun to stop. */
async function waitUntilNotListening(url: string, timeoutMs = 10_000): Promise<void> {
  const { hostname, port } = new URL(url)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const refused = await new Promise<boolean>((resolve) => {
      const probe = connect(Number(port), hostname)
      probe.on('connect', () => {
        probe.destroy()
        resolve(false)
      })
      probe.on('error', () => resolve(true))
    })
    if (refused) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`${url} still accepts connections after ${timeoutMs} ms`)
}

describe('end to end: stopping bizauth serve', () => {
  it('SIGTERM lets a request in flight finish, then exits 0', async (t) => {
    const dataDir = await useTempDir(t)
    await createAccount(['--data-dir', dataDir], 'acme', 'stop-password-1')
    const server = await serve(t, ['--data-dir', dataDir])
    const inFlight = await openRequestInFlight(server.url, 'acme', 'stop-password-1')

    server.child.kill('SIGTERM')
    await waitUntilNotListening(server.url)
    assert.equal(server.child.exitCode, null, 'still running while a request is in flight')

    const response = await inFlight.finish()
    assert.match(response, /\r\n\r\nHTTP\/1\.1 200 OK\r\n/)
    assert.match(response, /"accesstoken":"[\w-]+\.[\w-]+\.[\w-]+"/)
    assert.deepEqual(await server.exited(), { code: 0, signal: null }, server.stderr())
  })

  it('a second signal stops at once, without waiting for the request in flight', async (t) => {
    const dataDir = await useTempDir(t)
    await createAccount(['--data-dir', dataDir], 'acme', 'stop-password-2')
    const server = await serve(t, ['--data-dir', dataDir])
    const inFlight = await openRequestInFlight(server.url, 'acme', 'stop-password-2')

    server.child.kill('SIGTERM')
    await waitUntilNotListening(server.url)
    server.child.kill('SIGTERM')
    assert.deepEqual(await server.exited(), { code: 143, signal: null })
    assert.match(server.stderr(), /SIGTERM again: stopping now/)
    inFlight.socket.destroy()
  })
})

describe('end to end on PostgreSQL', { skip: await postgresSkipReason() }, () => {
  let database: PostgresTestDatabase
  before(async () => {
    database = await withPostgresDatabase()
  })
  after(() => database?.drop())

  it('the CLI and the server meet in one PostgreSQL database', async (t) => {
    const storeArgs = ['--database-url', database.url]
    await createAccount(storeArgs, 'acme', 'pg-e2e-password')
    const server = await serve(t, [], { BIZAUTH_DATABASE_URL: database.url })
    assertTokenAnswer(await requestToken(server.url, 'acme', 'pg-e2e-password'), 'acme')
    await cli(['account', 'suspend', 'acme', ...storeArgs])
    assertCode(await requestToken(server.url, 'acme', 'pg-e2e-password'), '3009')
    await assertStopsCleanly(server)
  })
})
