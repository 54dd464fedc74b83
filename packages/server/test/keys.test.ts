/**
 * Signing keys (issue 4 §1): persistence across a restart, the next -> current -> retired ->
 * removed life cycle, `bizauth keys rotate --now` reaching a running server, encryption at rest,
 * and two instances on one PostgreSQL. Real SQLite files, a real PostgreSQL, the real CLI.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { pino } from 'pino'
import { defineServerConfig } from '../src/config.js'
import { createKeyEncryption, isSealed } from '../src/keys/key-encryption.js'
import { KeyRing, rotateKey, type KeyRingOptions } from '../src/keys/key-ring.js'
import { startServer } from '../src/main.js'
import { createServices } from '../src/services.js'
import { openStore } from '../src/store/open.js'
import { FAST_ARGON2, basic, decodeJwtPart, startTestApp, type TestApp } from './helpers/app.js'
import { runCli } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { useTempDir } from './helpers/tmp.js'
import { waitFor } from './helpers/wait-for.js'

const TTL = 86_400
const SKEW = 300

async function issue(t: TestApp, account = 'acme', password = 'acme-pw'): Promise<string> {
  const response = await t.token(basic(account, password))
  assert.equal(response.statusCode, 200, response.body)
  return String((JSON.parse(response.body) as { accesstoken: string }).accesstoken)
}

async function jwks(t: TestApp): Promise<JSONWebKeySet> {
  const response = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  assert.equal(response.headers['cache-control'], 'public, max-age=300')
  return JSON.parse(response.body) as JSONWebKeySet
}

async function introspectActive(t: TestApp, token: string): Promise<boolean> {
  const response = await t.app.inject({
    method: 'POST',
    url: '/v1/token/introspect',
    headers: { authorization: basic('rs', 'rs-pw'), 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${token}`,
  })
  assert.equal(response.statusCode, 200, response.body)
  return (JSON.parse(response.body) as { active: boolean }).active
}

const kidOf = (token: string) => String(decodeJwtPart(token, 0).kid)

function ringOptions(t: TestApp): KeyRingOptions {
  return {
    algorithm: t.config.signingAlgorithm,
    encryption: createKeyEncryption(t.config.keyEncryptionKey),
    promotionDelaySeconds: t.config.keyPromotionDelaySeconds,
    rotationIntervalSeconds: 0,
    refreshSeconds: 3600,
    clockSkewSeconds: SKEW,
    audit: t.services.auditWriter({ type: 'system', id: 'rotation' }),
  }
}

describe('key persistence', () => {
  it('a token issued before a restart still verifies after it (same SQLite file)', async (t) => {
    const dataDir = await useTempDir(t)
    const first = await startTestApp({ dataDir })
    await first.createAccount('acme', 'acme-pw')
    await first.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    const token = await issue(first)
    await first.close()

    const second = await startTestApp({ dataDir })
    try {
      assert.equal(await introspectActive(second, token), true)
      const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(second)), { issuer: 'bizauth' })
      assert.equal(payload.sub, 'acme')
      assert.equal(kidOf(await issue(second)), kidOf(token), 'the same key still signs')
    } finally {
      await second.close()
    }
  })
})

describe('rotation', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'acme-pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
  })
  after(() => t.close())

  it('next is published at once, current after the promotion delay, retired until its tokens expired, then removed', async () => {
    const oldToken = await issue(t)
    const oldKid = kidOf(oldToken)
    const rotated = await rotateKey(t.store, ringOptions(t), false)
    assert.equal(rotated.promoted, false)
    await t.services.keys.refresh()

    // next: published, not signing.
    assert.deepEqual((await jwks(t)).keys.map((key) => key.kid).sort(), [oldKid, rotated.kid].sort())
    assert.equal(kidOf(await issue(t)), oldKid)

    // After the delay: the new key signs; the old one is retired and still verifies.
    const promotedAt = Date.now() + (t.config.keyPromotionDelaySeconds + 1) * 1000
    await t.services.keys.refresh(new Date(promotedAt))
    const newToken = await issue(t)
    assert.equal(kidOf(newToken), rotated.kid)
    const states = Object.fromEntries((await t.store.listKeys()).map((key) => [key.kid, key.state]))
    assert.deepEqual(states, { [oldKid]: 'retired', [rotated.kid]: 'current' })
    const set = createLocalJWKSet(await jwks(t))
    for (const token of [oldToken, newToken]) {
      assert.equal((await jwtVerify(token, set, { issuer: 'bizauth' })).payload.sub, 'acme')
      assert.equal(await introspectActive(t, token), true)
    }

    // Just before ttl + skew the retired key is still published; after it, it is removed.
    await t.services.keys.refresh(new Date(promotedAt + (TTL + SKEW - 5) * 1000))
    assert.ok((await jwks(t)).keys.some((key) => key.kid === oldKid))
    await t.services.keys.refresh(new Date(promotedAt + (TTL + SKEW + 5) * 1000))
    assert.deepEqual((await jwks(t)).keys.map((key) => key.kid), [rotated.kid])
    t.services.tokenVerifier.clearCache()
    assert.equal(await introspectActive(t, oldToken), false, 'a removed key verifies nothing')
  })

  it('rotates automatically once the current key is older than the interval, then promotes after the delay', async () => {
    const auto = await startTestApp({ keyRotationIntervalDays: 30 })
    try {
      await auto.createAccount('acme', 'acme-pw')
      const firstKid = kidOf(await issue(auto))
      // A day short of 30: nothing happens.
      const start = Date.now()
      await auto.services.keys.refresh(new Date(start + 29 * 86_400_000))
      assert.equal((await auto.store.listKeys()).length, 1)
      // Past 30 days: a next key appears and is published, but does not sign yet.
      const due = start + 30 * 86_400_000 + 1000
      await auto.services.keys.refresh(new Date(due))
      const next = (await auto.store.listKeys()).filter((key) => key.state === 'next')
      assert.equal(next.length, 1)
      assert.ok((await jwks(auto)).keys.some((key) => key.kid === next[0]!.kid))
      assert.equal(kidOf(await issue(auto)), firstKid)
      // A refresh later than the promotion delay (counted from the next key's creation) promotes it.
      const createdAt = next[0]!.createdAt.getTime()
      await auto.services.keys.refresh(new Date(createdAt + (auto.config.keyPromotionDelaySeconds + 1) * 1000))
      assert.equal(kidOf(await issue(auto)), next[0]!.kid)
      // No second rotation right after: the new key is young.
      await auto.services.keys.refresh(new Date(createdAt + (auto.config.keyPromotionDelaySeconds + 60) * 1000))
      assert.equal((await auto.store.listKeys()).filter((key) => key.state === 'next').length, 0)
    } finally {
      await auto.close()
    }
  })

  it('never rotates automatically with --key-rotation-days 0', async () => {
    const never = await startTestApp({ keyRotationIntervalDays: 0 })
    try {
      await never.services.keys.refresh(new Date(Date.now() + 3650 * 86_400_000))
      assert.deepEqual((await never.store.listKeys()).map((key) => key.state), ['current'])
    } finally {
      await never.close()
    }
  })

  it('with promotion delay 0 the running server promotes on its next refresh', async () => {
    const fast = await startTestApp({ keyPromotionDelaySeconds: 0 })
    try {
      await fast.createAccount('acme', 'acme-pw')
      const rotated = await rotateKey(fast.store, ringOptions(fast), false)
      await fast.services.keys.refresh()
      assert.equal(kidOf(await issue(fast)), rotated.kid)
    } finally {
      await fast.close()
    }
  })

  it('`bizauth keys rotate --now` while a server runs: it signs with the new kid within its refresh interval', async () => {
    const running = await startTestApp({ keyRefreshSeconds: 5 })
    try {
      await running.createAccount('acme', 'acme-pw')
      await running.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      const before = await issue(running)
      const result = await runCli(['keys', 'rotate', '--now', '--data-dir', running.dataDir])
      assert.equal(result.code, 0, result.stderr)
      const kid = /^kid: +(\S+)$/m.exec(result.stdout)?.[1]
      assert.ok(kid, result.stdout)
      assert.match(result.stdout, /^state: +current$/m)
      const after = await waitFor(async () => {
        const token = await issue(running)
        return kidOf(token) === kid ? token : undefined
      }, { timeoutMs: 15_000, intervalMs: 200, what: 'the server to sign with the rotated key' })
      assert.notEqual(kidOf(before), kid)
      assert.equal(await introspectActive(running, before), true, 'tokens of the retired key still verify')
      assert.equal(await introspectActive(running, after), true)

      const listed = await runCli(['keys', 'list', '--json', '--data-dir', running.dataDir])
      assert.equal(listed.code, 0, listed.stderr)
      const keys = JSON.parse(listed.stdout) as Array<{ kid: string; state: string; removedAfter: string | null; retiredAt: string | null }>
      assert.deepEqual(keys.map((key) => key.state), ['current', 'retired'])
      const retired = keys[1]!
      assert.equal(new Date(retired.removedAfter!).getTime() - new Date(retired.retiredAt!).getTime(), (TTL + SKEW) * 1000)
      assert.doesNotMatch(listed.stdout, /"d"|privateMaterial|aes256gcm/, 'no key material is printed')
    } finally {
      await running.close()
    }
  })

  it('`bizauth keys rotate` keeps the current algorithm unless told, and takes --signing-alg', async (t) => {
    const dataDir = await useTempDir(t)
    const plain = await runCli(['keys', 'rotate', '--now', '--data-dir', dataDir, '--signing-alg', 'ES256'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(plain.stdout, /^alg: +ES256$/m)
    const again = await runCli(['keys', 'rotate', '--data-dir', dataDir])
    assert.match(again.stdout, /^alg: +ES256$/m)
    assert.match(again.stdout, /^state: +next$/m)
    // A next key waits: a second rotate adds none, whatever algorithm it asks for, and reports it.
    const waiting = await runCli(['keys', 'rotate', '--data-dir', dataDir], { env: { BIZAUTH_SIGNING_ALG: 'EdDSA' } })
    assert.equal(waiting.code, 0, waiting.stderr)
    assert.match(waiting.stdout, /^a next key was already waiting: no key added$/m)
    assert.equal(/^kid: +(\S+)$/m.exec(waiting.stdout)?.[1], /^kid: +(\S+)$/m.exec(again.stdout)?.[1])
    assert.match(waiting.stdout, /^alg: +ES256$/m)
    const fromEnv = await runCli(['keys', 'rotate', '--data-dir', await useTempDir(t)], { env: { BIZAUTH_SIGNING_ALG: 'EdDSA' } })
    assert.match(fromEnv.stdout, /^alg: +EdDSA$/m)
    assert.doesNotMatch(fromEnv.stdout, /already waiting/)
    const bad = await runCli(['keys', 'rotate', '--data-dir', dataDir, '--signing-alg', 'RS256'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /must be one of EdDSA, ES256, HS256/)
  })
})

describe('encryption at rest', () => {
  const KEK = 'correct horse battery staple, long enough'

  it('stores no plaintext JWK with BIZAUTH_KEY_ENCRYPTION_KEY, and signs normally', async () => {
    const t = await startTestApp({ keyEncryptionKey: KEK })
    try {
      await t.createAccount('acme', 'acme-pw')
      await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      const [record] = await t.store.listKeys()
      assert.ok(record && isSealed(record.privateMaterial))
      assert.doesNotMatch(record.privateMaterial, /"d"|"kty"|"crv"/)
      assert.equal(await introspectActive(t, await issue(t)), true)
    } finally {
      await t.close()
    }
  })

  it('a wrong key, or none, fails with a clear message (server and CLI)', async (t) => {
    const dataDir = await useTempDir(t)
    const first = await startTestApp({ dataDir, keyEncryptionKey: KEK })
    await first.close()
    const store = await openStore({ dataDir })
    try {
      const config = defineServerConfig({ dataDir, argon2: FAST_ARGON2, keyEncryptionKey: 'x'.repeat(40) })
      await assert.rejects(createServices(config, store), /cannot decrypt signing key .*BIZAUTH_KEY_ENCRYPTION_KEY is not the key it was encrypted with/)
      await assert.rejects(createServices(defineServerConfig({ dataDir, argon2: FAST_ARGON2 }), store), /encrypted: set BIZAUTH_KEY_ENCRYPTION_KEY/)
    } finally {
      await store.close()
    }
    const wrong = await runCli(['keys', 'rotate', '--data-dir', dataDir], { env: { BIZAUTH_KEY_ENCRYPTION_KEY: 'y'.repeat(40) } })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /not the key it was encrypted with \(nothing changed\)/)
    assert.ok(!wrong.stderr.includes('y'.repeat(40)), 'the key is never echoed')
    const none = await runCli(['keys', 'rotate', '--data-dir', dataDir])
    assert.equal(none.code, 1)
    assert.match(none.stderr, /encrypted: set BIZAUTH_KEY_ENCRYPTION_KEY/)
    const right = await runCli(['keys', 'rotate', '--now', '--data-dir', dataDir], { env: { BIZAUTH_KEY_ENCRYPTION_KEY: KEK } })
    assert.equal(right.code, 0, right.stderr)
    assert.match(right.stdout, /^encrypted: yes$/m)
  })

  it('the server warns at start without a key, and not with one', async (t) => {
    for (const keyEncryptionKey of [undefined, KEK]) {
      const dataDir = await useTempDir(t)
      const lines: string[] = []
      const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) })
      const running = await startServer(defineServerConfig({ dataDir, port: 0, adminPort: 'off', argon2: FAST_ARGON2, keyEncryptionKey }), { logger: pino({ level: 'warn' }, sink) })
      await running.close()
      const warned = lines.some((line) => /"level":40/.test(line) && line.includes('BIZAUTH_KEY_ENCRYPTION_KEY is not set'))
      assert.equal(warned, keyEncryptionKey === undefined)
      assert.ok(!lines.join('').includes(KEK))
    }
  })
})

const pgSkip = await postgresSkipReason()

describe('two instances on one PostgreSQL', { skip: pgSkip }, () => {
  let database: PostgresTestDatabase
  let a: TestApp
  let b: TestApp
  before(async () => {
    database = await withPostgresDatabase()
    a = await startTestApp({}, { databaseUrl: database.url })
    b = await startTestApp({}, { databaseUrl: database.url })
    await a.createAccount('acme', 'acme-pw')
    await a.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
  })
  after(async () => {
    await a?.close()
    await b?.close()
    await database?.drop()
  })

  it('both sign with the same current key, and each verifies the other\'s tokens', async () => {
    const fromA = await issue(a)
    const fromB = await issue(b)
    assert.equal(kidOf(fromA), kidOf(fromB))
    assert.equal(await introspectActive(b, fromA), true)
    assert.equal(await introspectActive(a, fromB), true)
  })

  it('concurrent promotions leave exactly one current key', async () => {
    const rotated = await rotateKey(a.store, ringOptions(a), false)
    const later = new Date(Date.now() + (a.config.keyPromotionDelaySeconds + 1) * 1000)
    await Promise.all([a.services.keys.refresh(later), b.services.keys.refresh(later)])
    let keys = await a.store.listKeys()
    assert.deepEqual(keys.filter((key) => key.state === 'current').map((key) => key.kid), [rotated.kid])
    assert.equal(kidOf(await issue(a)), kidOf(await issue(b)))

    // Two `keys rotate --now` at once, on two connections: still exactly one current.
    const results = await Promise.all([rotateKey(a.store, ringOptions(a), true), rotateKey(b.store, ringOptions(b), true)])
    keys = await a.store.listKeys()
    const current = keys.filter((key) => key.state === 'current')
    assert.equal(current.length, 1)
    assert.ok(results.some((result) => result.kid === current[0]!.kid))
  })

  it('the first key is created once when instances start together on an empty database', async () => {
    const empty = await withPostgresDatabase()
    try {
      const rings = await Promise.all(
        [0, 1, 2].map(async () => {
          const store = await openStore({ databaseUrl: empty.url })
          await store.migrate()
          const ring = await KeyRing.open(store, ringOptions(a))
          return { ring, store }
        }),
      )
      const kids = new Set(rings.map(({ ring }) => ring.current.kid))
      assert.equal(kids.size, 1)
      for (const { store } of rings) await store.close()
    } finally {
      await empty.drop()
    }
  })
})
