/**
 * The verified-credential cache (issue 3 §1), observed by counting argon2id work
 * (PasswordHasher.verifications, HashQueue.started), never by timing.
 *
 * Eviction is proved three ways: through store calls in this process, through the real CLI
 * as a child process on the same SQLite file while the server runs, and through a second
 * instance on the same PostgreSQL database.
 */
import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { CredentialCache } from '../src/accounts/credential-cache.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { parseIpAddress } from '../src/net/cidr.js'
import { answerCode, type Answer, FAST_ARGON2, basic, startTestApp, type TestApp } from './helpers/app.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { bizauthOk } from './helpers/server-process.js'
import { waitFor } from './helpers/wait-for.js'

/** The account state a cache entry is checked against; the hash differs per account by default. */
function state(id: string, version: number, passwordHash = `$argon2id$hash-of-${id}`) {
  return { id, version, passwordHash }
}

const code = answerCode

/** Runs `request` and returns its answer's code and how many argon2id checks it cost. */
async function measured(t: TestApp, request: () => Promise<Answer>): Promise<{ code: string; verifications: number; started: number }> {
  const verificationsBefore = t.services.hasher.verifications
  const startedBefore = t.services.hashQueue.started
  const response = await request()
  return { code: code(response), verifications: t.services.hasher.verifications - verificationsBefore, started: t.services.hashQueue.started - startedBefore }
}

describe('credential cache: hits, misses, single-flight', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'correct horse')
  })
  after(() => t.close())

  it('hashes on the first request and not on the second', async () => {
    const first = await measured(t, () => t.token(basic('acme', 'correct horse')))
    assert.deepEqual(first, { code: '200', verifications: 1, started: 1 })
    const second = await measured(t, () => t.token(basic('acme', 'correct horse')))
    assert.deepEqual(second, { code: '200', verifications: 0, started: 0 })
  })

  it('sends a different password back to argon2id, every time', async () => {
    for (let i = 0; i < 3; i++) {
      const wrong = await measured(t, () => t.token(basic('acme', 'correct horsE')))
      assert.deepEqual(wrong, { code: '3007', verifications: 1, started: 1 })
    }
  })

  it('never caches a failed check', async () => {
    const size = t.services.credentialCache.size
    await t.token(basic('acme', 'nope'))
    await t.token(basic('acme', 'nope'))
    assert.equal(t.services.credentialCache.size, size)
    // and the right password, still cached, costs nothing
    assert.deepEqual(await measured(t, () => t.token(basic('acme', 'correct horse'))), { code: '200', verifications: 0, started: 0 })
  })

  it('runs one argon2id check for N concurrent identical cold requests (single-flight)', async () => {
    await t.createAccount('burst', 'same secret')
    const before = t.services.hasher.verifications
    const answers = await Promise.all(Array.from({ length: 12 }, () => t.token(basic('burst', 'same secret'))))
    assert.deepEqual(answers.map((a) => a.statusCode), Array(12).fill(200))
    assert.equal(t.services.hasher.verifications - before, 1)
  })

  it('single-flight also covers concurrent identical wrong passwords (one check, every one answered 3007)', async () => {
    await t.createAccount('burst-wrong', 'right')
    const before = t.services.hasher.verifications
    const answers = await Promise.all(Array.from({ length: 6 }, () => t.token(basic('burst-wrong', 'wrong'))))
    assert.deepEqual(answers.map(code), Array(6).fill('3007'))
    assert.equal(t.services.hasher.verifications - before, 1)
  })

  it('keeps different accounts with the same password apart', async () => {
    await t.createAccount('twin-a', 'shared')
    await t.createAccount('twin-b', 'other')
    assert.equal(code(await t.token(basic('twin-a', 'shared'))), '200')
    // twin-a's cached entry must not vouch for twin-b
    assert.deepEqual(await measured(t, () => t.token(basic('twin-b', 'shared'))), { code: '3007', verifications: 1, started: 1 })
  })
})

describe('credential cache: TTL and size bound', () => {
  it('expires an entry after its TTL (explicit clock, through the real authenticator)', async (context) => {
    const t = await startTestApp({ credentialCacheTtlSeconds: 60 })
    context.after(() => t.close())
    await t.createAccount('acme', 'pw')
    const ip = parseIpAddress('127.0.0.1')
    const { authenticator, hasher } = t.services
    const t0 = Date.now()
    await authenticator.authenticate({ account: 'acme', password: 'pw' }, ip, t0)
    const afterFirst = hasher.verifications
    await authenticator.authenticate({ account: 'acme', password: 'pw' }, ip, t0 + 59_999)
    assert.equal(hasher.verifications, afterFirst, 'fresh within the TTL')
    await authenticator.authenticate({ account: 'acme', password: 'pw' }, ip, t0 + 60_000)
    assert.equal(hasher.verifications, afterFirst + 1, 'expired at the TTL')
  })

  it('caches nothing with --credential-cache-ttl 0', async (context) => {
    const t = await startTestApp({ credentialCacheTtlSeconds: 0 })
    context.after(() => t.close())
    await t.createAccount('acme', 'pw')
    for (let i = 0; i < 3; i++) assert.deepEqual(await measured(t, () => t.token(basic('acme', 'pw'))), { code: '200', verifications: 1, started: 1 })
    assert.equal(t.services.credentialCache.size, 0)
  })

  it('stays at its maximum size, dropping the least recently used entry', () => {
    const cache = new CredentialCache(60_000, 5)
    const now = 1_000_000
    const prints = Array.from({ length: 50 }, (_, i) => cache.fingerprint(`acct${i}`, 'pw'))
    prints.forEach((print, i) => cache.remember(print, state(`acct${i}`, 1), now))
    assert.equal(cache.size, 5)
    assert.equal(cache.hit(prints[0]!, state('acct0', 1), now), false)
    assert.equal(cache.hit(prints[49]!, state('acct49', 1), now), true)
    // A hit refreshes recency: 45 survives the next insert, 46 (now the oldest) does not.
    assert.equal(cache.hit(prints[45]!, state('acct45', 1), now), true)
    cache.remember(cache.fingerprint('new', 'pw'), state('new', 1), now)
    assert.equal(cache.size, 5)
    assert.equal(cache.hit(prints[45]!, state('acct45', 1), now), true)
    assert.equal(cache.hit(prints[46]!, state('acct46', 1), now), false)
  })

  it('bounds the cache of the running server (--credential-cache-size)', async (context) => {
    const t = await startTestApp({ credentialCacheMaxEntries: 3 })
    context.after(() => t.close())
    for (let i = 0; i < 8; i++) {
      await t.createAccount(`user${i}`, `pw${i}`)
      assert.equal(code(await t.token(basic(`user${i}`, `pw${i}`))), '200')
      assert.ok(t.services.credentialCache.size <= 3)
    }
    assert.equal(t.services.credentialCache.size, 3)
    // The newest is still cached, the oldest went back to argon2id.
    assert.equal((await measured(t, () => t.token(basic('user7', 'pw7')))).verifications, 0)
    assert.equal((await measured(t, () => t.token(basic('user0', 'pw0')))).verifications, 1)
  })

  it('evictAccount forgets every entry of one account, and clear() all of them', () => {
    const cache = new CredentialCache(60_000, 10)
    cache.remember(cache.fingerprint('a', 'pw-1'), state('a', 1), 0)
    cache.remember(cache.fingerprint('a', 'pw-2'), state('a', 1), 0)
    cache.remember(cache.fingerprint('b', 'pw-1'), state('b', 1), 0)
    assert.equal(cache.evictAccount('a'), 2)
    assert.equal(cache.size, 1)
    assert.equal(cache.hit(cache.fingerprint('b', 'pw-1'), state('b', 1), 1), true)
    cache.clear()
    assert.equal(cache.size, 0)
  })

  it('never treats a fingerprint as valid for another account or version', () => {
    const cache = new CredentialCache(60_000, 10)
    const print = cache.fingerprint('a', 'pw')
    cache.remember(print, state('a', 3), 0)
    assert.equal(cache.hit(print, state('b', 3), 0), false)
    cache.remember(print, state('a', 3), 0)
    assert.equal(cache.hit(print, state('a', 4), 0), false)
    assert.equal(cache.hit(print, state('a', 3), 0), false, 'a stale entry is dropped, not kept for later')
    // Same id and version, another stored hash: an account deleted and created again (versions restart at 1).
    cache.remember(print, state('a', 1, '$argon2id$old'), 0)
    assert.equal(cache.hit(print, state('a', 1, '$argon2id$new'), 0), false)
    // Two processes' caches use different keys: a fingerprint means nothing outside its process.
    assert.notEqual(new CredentialCache(1, 1).fingerprint('a', 'pw'), print)
  })
})

/**
 * Each eviction case: warm the cache, change the account some way, and check that the very
 * next request sees the change (its answer, and that argon2id ran again where a password is checked).
 */
interface EvictionCase {
  name: string
  /** The change, made by store calls or by the CLI. */
  change(t: TestApp, id: string): Promise<void>
  /** What the next request with the old credentials gets. */
  expect: string
  /** Whether that request must re-run argon2id (false where an earlier check refuses first). */
  rehashes: boolean
}

function evictionSuite(title: string, cases: EvictionCase[]): void {
  describe(title, () => {
    let t: TestApp
    let n = 0
    let id: string
    before(async () => {
      t = await startTestApp()
    })
    after(() => t.close())
    beforeEach(async () => {
      id = `evict${n++}`
      await t.createAccount(id, 'old password')
      assert.equal(code(await t.token(basic(id, 'old password'))), '200')
      assert.equal((await measured(t, () => t.token(basic(id, 'old password')))).verifications, 0, 'warm')
    })
    for (const c of cases) {
      it(`${c.name}: the very next request gets ${c.expect}`, async () => {
        await c.change(t, id)
        const next = await measured(t, () => t.token(basic(id, 'old password')))
        assert.equal(next.code, c.expect)
        assert.equal(next.verifications, c.rehashes ? 1 : 0)
      })
    }
  })
}

const hasher = new PasswordHasher(FAST_ARGON2)

evictionSuite('credential cache eviction through the store', [
  { name: 'set-password', change: async (t, id) => void (await t.store.setPasswordHash(id, await hasher.hash('new password'))), expect: '3007', rehashes: true },
  { name: 'suspend', change: async (t, id) => void (await t.store.setStatus(id, 'suspended')), expect: '3009', rehashes: true },
  { name: 'delete', change: async (t, id) => void (await t.store.deleteAccount(id)), expect: '3006', rehashes: true },
  {
    // The new account starts at version 1 again, like the cached entry: only the new hash tells them apart.
    name: 'delete, then create again under the same id with a new password',
    change: async (t, id) => {
      await t.store.deleteAccount(id)
      await t.createAccount(id, 'new password')
    },
    expect: '3007',
    rehashes: true,
  },
  { name: 'allow-ip (a new range)', change: async (t, id) => void (await t.store.addAllowedIp(id, '203.0.113.0/24')), expect: '200', rehashes: true },
  {
    name: 'deny-ip (the caller\'s range)',
    change: async (t, id) => {
      await t.store.addAllowedIp(id, '203.0.113.0/24')
      await t.store.removeAllowedIp(id, '127.0.0.1/32')
    },
    expect: '3010',
    rehashes: false,
  },
  {
    name: 'deny-ip of another range',
    change: async (t, id) => {
      await t.store.addAllowedIp(id, '203.0.113.0/24')
      await t.store.removeAllowedIp(id, '203.0.113.0/24')
    },
    expect: '200',
    rehashes: true,
  },
])

const cli = (t: TestApp, args: string[], input?: string) => bizauthOk([...args, '--data-dir', t.dataDir], { input })

evictionSuite('credential cache eviction by the CLI in another process, while the server runs on the same SQLite file', [
  { name: 'bizauth account set-password', change: (t, id) => cli(t, ['account', 'set-password', id, '--password-stdin'], 'new password\n').then(() => undefined), expect: '3007', rehashes: true },
  { name: 'bizauth account suspend', change: (t, id) => cli(t, ['account', 'suspend', id]).then(() => undefined), expect: '3009', rehashes: true },
  { name: 'bizauth account delete', change: (t, id) => cli(t, ['account', 'delete', id]).then(() => undefined), expect: '3006', rehashes: true },
  {
    name: 'bizauth account delete, then create again with a new password',
    change: async (t, id) => {
      await cli(t, ['account', 'delete', id])
      await cli(t, ['account', 'create', id, '--allow-ip', '127.0.0.1', '--password-stdin'], 'new password\n')
    },
    expect: '3007',
    rehashes: true,
  },
  { name: 'bizauth account allow-ip', change: (t, id) => cli(t, ['account', 'allow-ip', id, '198.51.100.0/24']).then(() => undefined), expect: '200', rehashes: true },
  {
    name: 'bizauth account deny-ip',
    change: async (t, id) => {
      await cli(t, ['account', 'allow-ip', id, '198.51.100.0/24'])
      await cli(t, ['account', 'deny-ip', id, '127.0.0.1'])
    },
    expect: '3010',
    rehashes: false,
  },
])

describe('the old password fails on the very next request after `bizauth account set-password` (3007)', () => {
  it('and the new one works, and is then cached', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    await t.createAccount('acme', 'old password')
    for (let i = 0; i < 3; i++) assert.equal(code(await t.token(basic('acme', 'old password'))), '200')
    await cli(t, ['account', 'set-password', 'acme', '--password-stdin'], 'new password\n')
    assert.equal(code(await t.token(basic('acme', 'old password'))), '3007')
    assert.deepEqual(await measured(t, () => t.token(basic('acme', 'new password'))), { code: '200', verifications: 1, started: 1 })
    assert.deepEqual(await measured(t, () => t.token(basic('acme', 'new password'))), { code: '200', verifications: 0, started: 0 })
    // and a resume after suspend (both by the CLI) works again, with a fresh check
    await cli(t, ['account', 'suspend', 'acme'])
    assert.equal(code(await t.token(basic('acme', 'new password'))), '3009')
    await cli(t, ['account', 'resume', 'acme'])
    assert.deepEqual(await measured(t, () => t.token(basic('acme', 'new password'))), { code: '200', verifications: 1, started: 1 })
  })
})

describe('credential cache eviction across instances on one PostgreSQL database', async () => {
  const skip = await postgresSkipReason()
  let database: PostgresTestDatabase | undefined
  let first: TestApp | undefined
  let second: TestApp | undefined
  after(async () => {
    await first?.close()
    await second?.close()
    await database?.drop()
  })

  it('sees another instance\'s password change and suspension on its next request', { skip }, async () => {
    database = await withPostgresDatabase()
    first = await startTestApp({}, { databaseUrl: database.url })
    second = await startTestApp({}, { databaseUrl: database.url })
    await first.createAccount('acme', 'old password')
    assert.equal(code(await first.token(basic('acme', 'old password'))), '200')
    assert.equal((await measured(first, () => first!.token(basic('acme', 'old password')))).verifications, 0, 'warm on the first instance')

    await second.store.setPasswordHash('acme', await hasher.hash('new password'))
    assert.deepEqual(await measured(first, () => first!.token(basic('acme', 'old password'))), { code: '3007', verifications: 1, started: 1 })
    assert.equal(code(await first.token(basic('acme', 'new password'))), '200')

    await second.store.setStatus('acme', 'suspended')
    assert.equal(code(await first.token(basic('acme', 'new password'))), '3009')
  })

  it('drops an account\'s entries as soon as another instance\'s change to it is announced, and only its', { skip }, async () => {
    const shared = await withPostgresDatabase()
    const one = await startTestApp({}, { databaseUrl: shared.url })
    const two = await startTestApp({}, { databaseUrl: shared.url })
    try {
      // Once `one` hears a change, its listening connection is up and its first resync (which
      // clears the whole cache) is behind it.
      const heard: string[] = []
      const stopHearing = one.store.onChange((change) => heard.push(change.kind === 'account' ? change.id : change.kind))
      await two.createAccount('changing', 'pw-1')
      await waitFor(() => (heard.includes('changing') ? true : undefined), { what: 'the first announcement' })
      stopHearing()
      await one.createAccount('steady', 'pw-2')
      assert.equal(code(await one.token(basic('changing', 'pw-1'))), '200')
      assert.equal(code(await one.token(basic('steady', 'pw-2'))), '200')
      assert.equal(one.services.credentialCache.size, 2)
      // No request to `one` follows: only the announcement can shrink its cache.
      await two.store.addAllowedIp('changing', '203.0.113.9/32')
      await waitFor(() => (one.services.credentialCache.size === 1 ? true : undefined), { what: 'the announcement to evict the changed account' })
      assert.equal((await measured(one, () => one.token(basic('steady', 'pw-2')))).verifications, 0, 'the other account is still cached')
    } finally {
      await one.close()
      await two.close()
      await shared.drop()
    }
  })
})
