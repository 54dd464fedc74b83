/**
 * Enumeration protection (issue 3 §4) and the 500/9000 path: an unknown account and a wrong
 * password are indistinguishable under --uniform-auth-errors, both in answer and in argon2id
 * work; a failing store answers 9000 and is logged without any credential.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import { buildApp } from '../src/app.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { SERVE_SETTINGS, defineServerConfig } from '../src/config.js'
import { createServices } from '../src/services.js'
import { openStore } from '../src/store/open.js'
import type { Store } from '../src/store/store.js'
import { FAST_ARGON2, basic, startTestApp, type TestApp } from './helpers/app.js'
import { bizauthOk, serve } from './helpers/server-process.js'
import { useTempDir } from './helpers/tmp.js'

interface Answer {
  statusCode: number
  body: string
  headers: Record<string, unknown>
}

async function costOf(t: TestApp, authorization: string): Promise<{ answer: Answer; verifications: number; started: number }> {
  const verifications = t.services.hasher.verifications
  const started = t.services.hashQueue.started
  const answer = await t.token(authorization)
  return { answer, verifications: t.services.hasher.verifications - verifications, started: t.services.hashQueue.started - started }
}

function codeOf(answer: Answer): string {
  return String((JSON.parse(answer.body) as { code: string }).code)
}

describe('--uniform-auth-errors', () => {
  it('answers 3001 for an unknown account and for a wrong password, identically, at one argon2id check each', async (context) => {
    const t = await startTestApp({ uniformAuthErrors: true })
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    const unknown = await costOf(t, basic('nobody', 'right'))
    const wrong = await costOf(t, basic('acme', 'wrong'))
    assert.equal(codeOf(unknown.answer), '3001')
    assert.equal(codeOf(wrong.answer), '3001')
    assert.equal(unknown.answer.statusCode, wrong.answer.statusCode)
    assert.equal(unknown.answer.body, wrong.answer.body, 'byte-identical bodies')
    // The date and the request id differ per answer whatever the account.
    const { date: _a, 'x-request-id': _c, ...unknownHeaders } = unknown.answer.headers
    const { date: _b, 'x-request-id': _d, ...wrongHeaders } = wrong.answer.headers
    assert.deepEqual(unknownHeaders, wrongHeaders, 'identical headers')
    assert.deepEqual([unknown.verifications, unknown.started], [1, 1])
    assert.deepEqual([wrong.verifications, wrong.started], [1, 1])
    assert.equal((await t.token(basic('acme', 'right'))).statusCode, 200)
  })

  it('is off by default: 3006 and 3007 as the contract says, still one argon2id check each', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    await t.createAccount('acme', 'right')
    const unknown = await costOf(t, basic('nobody', 'right'))
    const wrong = await costOf(t, basic('acme', 'wrong'))
    assert.equal(codeOf(unknown.answer), '3006')
    assert.equal(codeOf(wrong.answer), '3007')
    assert.deepEqual([unknown.verifications, wrong.verifications], [1, 1])
  })
})

describe('500/9000 when the store fails', () => {
  it('answers {"code":"9000"} and logs the error without the password or the Authorization header', async (context) => {
    const dir = await useTempDir(context)
    const config = defineServerConfig({ dataDir: dir, argon2: FAST_ARGON2, keyRefreshSeconds: 3600 })
    const real = await openStore({ dataDir: dir })
    await real.migrate()
    let failing = false
    // The real store, except that getAccount fails on demand, as a lost database connection would.
    const store = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'getAccount') {
          return async (id: string) => {
            if (failing) throw new Error('connection to the database was lost')
            return target.getAccount(id)
          }
        }
        const value = Reflect.get(target, property, receiver) as unknown
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    }) as Store
    const lines: string[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
        done()
      },
    })
    const logger = pino({ level: 'info' }, sink)
    const services = await createServices(config, store, { logger })
    const app = await buildApp(services, { logger })
    await app.ready()
    context.after(async () => {
      await app.close()
      await services.stop()
      await real.close()
    })
    await real.createAccount({ id: 'acme', passwordHash: await new PasswordHasher(FAST_ARGON2).hash('S3cret-pa55word'), allowedIps: ['127.0.0.1/32'] })

    const password = 'S3cret-pa55word'
    const authorization = basic('acme', password)
    const ok = await app.inject({ method: 'POST', url: '/v1/token', headers: { authorization } })
    assert.equal(ok.statusCode, 200)

    failing = true
    const answer = await app.inject({ method: 'POST', url: '/v1/token', headers: { authorization } })
    assert.equal(answer.statusCode, 500)
    assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8')
    const parsed = JSON.parse(answer.body) as Record<string, unknown>
    assert.deepEqual(Object.keys(parsed).sort(), ['code', 'description'])
    assert.equal(parsed.code, '9000')
    assert.doesNotMatch(answer.body, /database|lost/, 'the internal message does not reach the client')

    const errorLines = lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)
    assert.ok(errorLines.length >= 1, 'the error is logged')
    assert.ok(errorLines.some((line) => line.includes('connection to the database was lost')), 'with its cause')
    const everything = lines.join('\n')
    const encoded = authorization.slice('Basic '.length)
    for (const secret of [password, encoded, authorization, `acme:${password}`, Buffer.from(password).toString('base64')]) {
      assert.ok(!everything.includes(secret), `the log must not contain ${secret === password ? 'the password' : 'the credentials'}`)
    }

    // The failure counted against nobody: once the store is back, the right password works.
    failing = false
    assert.equal((await app.inject({ method: 'POST', url: '/v1/token', headers: { authorization } })).statusCode, 200)
  })
})

describe('bizauth serve: every limit is a flag and an environment variable', () => {
  const LIMIT_KEYS = [
    'bodyLimitBytes', 'maxHeaderBytes', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections',
    'credentialCacheTtlSeconds', 'credentialCacheMaxEntries', 'hashConcurrency', 'hashQueueMax',
    'lockoutThreshold', 'lockoutBaseSeconds', 'lockoutMaxSeconds', 'ipFailureLimit', 'ipFailureWindowSeconds', 'ipBlockSeconds',
    'rateLimit', 'rateLimitWindowSeconds', 'uniformAuthErrors',
  ] as const

  it('lists each in --help with its environment variable, and nothing that does not exist', async () => {
    const help = await bizauthOk(['serve', '--help'])
    for (const key of LIMIT_KEYS) {
      const spec = SERVE_SETTINGS.find((setting) => setting.key === key)
      assert.ok(spec, `${key} is in the settings table`)
      assert.ok(help.stdout.includes(`--${spec.flag}`), `--${spec.flag} in --help`)
      assert.ok(help.stdout.includes(spec.env), `${spec.env} in --help`)
    }
    for (const flag of ['--redis-url', '--redis-key-prefix', '--redis-timeout']) assert.ok(help.stdout.includes(flag), `${flag} (the shared counters) in --help`)
  })

  it('applies them when given as an environment variable and as a flag (real process, real socket)', { timeout: 60_000 }, async (context) => {
    const dataDir = await useTempDir(context)
    await bizauthOk(['account', 'create', 'acme', '--allow-ip', '127.0.0.1', '--password-stdin', '--data-dir', dataDir], { input: 'right-password-1\n' })
    const server = await serve(['--data-dir', dataDir, '--port', '0', '--uniform-auth-errors', '--lockout-threshold', '0'], { env: { BIZAUTH_IP_FAILURE_LIMIT: '2' } })
    context.after(() => server.kill('SIGKILL').then(() => undefined))
    const post = async (authorization: string) => {
      const response = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { authorization } })
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { code?: string } }
    }
    assert.equal((await post(basic('nobody', 'x'))).body.code, '3001', '--uniform-auth-errors')
    assert.equal((await post(basic('acme', 'wrong'))).body.code, '3001')
    const blocked = await post(basic('acme', 'right-password-1'))
    assert.equal(blocked.body.code, '3008', 'BIZAUTH_IP_FAILURE_LIMIT=2')
    assert.match(String(blocked.retryAfter), /^\d+$/)
  })
})
