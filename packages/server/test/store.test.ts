/**
 * The store suite: the same cases against a real SQLite file and a real PostgreSQL database.
 * Each case gets a fresh database (a temp dir, or `bizauth_test_<random>`).
 *
 * Cases that need two writers at once run them in worker threads, each with its own store:
 * that is how the CLI and the server meet in production (two processes), and in one thread a
 * second SQLite connection waiting on busy_timeout would block the thread holding the lock.
 */
import { describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { stat, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import fc from 'fast-check'
import pg from 'pg'
import { openStore, type OpenStoreOptions } from '../src/store/open.js'
import { ACCOUNT_REVOCATION_RETENTION_SECONDS } from '../src/tokens/lifetime.js'

/** A store-level revocation as the administration service asks for it: kept until the last token it affects expired. */
const revokeAt = (validAfter: number) => ({ validAfter, expiresAt: validAfter + ACCOUNT_REVOCATION_RETENTION_SECONDS })
import {
  AccountExistsError,
  AccountMissingError,
  type Account,
  type SigningKeyRecord,
  type Store,
} from '../src/store/store.js'
import { makeTempDir, useTempDir } from './helpers/tmp.js'
import { postgresSkipReason, withPostgresDatabase } from './helpers/postgres.js'

interface DialectUnderTest {
  readonly name: Store['dialect']
  readonly skip: string | undefined
  /** A fresh, empty (unmigrated) database and how to throw it away. */
  createDatabase(): Promise<{ options: OpenStoreOptions; remove(): Promise<void> }>
}

const dialects: DialectUnderTest[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async createDatabase() {
      const dir = await makeTempDir()
      return { options: { dataDir: join(dir.path, 'data') }, remove: () => dir.remove() }
    },
  },
  {
    name: 'postgres',
    skip: await postgresSkipReason(),
    async createDatabase() {
      const database = await withPostgresDatabase()
      return { options: { databaseUrl: database.url, postgresPoolSize: 4 }, remove: () => database.drop() }
    },
  },
]

const OPEN_MODULE_URL = new URL('../src/store/open.js', import.meta.url).href

type WorkerTask =
  | { task: 'migrate' }
  | { task: 'addAllowedIps'; accountId: string; cidrs: string[] }
  | { task: 'promoteKey'; kid: string }

/** Runs one store operation in a worker thread with its own store; resolves to its result. */
function runInWorker(options: OpenStoreOptions, work: WorkerTask): Promise<unknown> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    ;(async () => {
      const { openStore } = await import(workerData.openModuleUrl)
      const store = await openStore(workerData.options)
      try {
        const work = workerData.work
        let result = null
        if (work.task === 'migrate') await store.migrate()
        else if (work.task === 'addAllowedIps') for (const cidr of work.cidrs) await store.addAllowedIp(work.accountId, cidr)
        else if (work.task === 'promoteKey') result = await store.promoteKey(work.kid, new Date())
        parentPort.postMessage({ ok: true, result })
      } catch (error) {
        parentPort.postMessage({ ok: false, message: String(error && error.stack || error) })
      } finally {
        await store.close()
      }
    })()
  `
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { openModuleUrl: OPEN_MODULE_URL, options, work } })
    let settled = false
    worker.on('message', (message: { ok: boolean; result?: unknown; message?: string }) => {
      settled = true
      if (message.ok) resolve(message.result)
      else reject(new Error(`worker ${work.task} failed: ${message.message}`))
    })
    worker.on('error', (error) => {
      settled = true
      reject(error)
    })
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`worker ${work.task} exited with ${code} before answering`))
    })
  })
}

function keyRecord(kid: string, state: SigningKeyRecord['state'], createdAt = new Date(1_700_000_000_000)): SigningKeyRecord {
  return {
    kid,
    alg: 'EdDSA',
    state,
    privateMaterial: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', d: `private-${kid}` }),
    publicJwk: JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: `public-${kid}` }),
    createdAt,
    activatedAt: state === 'next' ? null : createdAt,
    retiredAt: state === 'retired' ? createdAt : null,
  }
}

const COMMIT_GATE_KEY = 4242

/** Polls `condition` until it holds, failing after a bounded deadline (never a fixed sleep). */
async function pollUntil(condition: () => Promise<boolean>, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function allEvents(store: Store) {
  return store.revocationsSince(0, 1000)
}

for (const dialect of dialects) {
  describe(`store on ${dialect.name}`, { skip: dialect.skip }, () => {
    /**
     * A fresh database for this test. Stores opened with `openExtra` are closed when the test
     * ends, before the database is removed.
     */
    async function freshDatabase(t: TestContext) {
      const { options, remove } = await dialect.createDatabase()
      const stores: Store[] = []
      t.after(async () => {
        await Promise.all(stores.map((store) => store.close()))
        await remove()
      })
      const openExtra = async () => {
        const store = await openStore(options)
        stores.push(store)
        return store
      }
      return { options, openExtra }
    }

    /** A migrated store on a fresh database. */
    async function openFresh(t: TestContext) {
      const { options, openExtra } = await freshDatabase(t)
      const store = await openExtra()
      await store.migrate()
      return { store, options, openExtra }
    }

    async function freshAccount(t: TestContext, overrides: Partial<Parameters<Store['createAccount']>[0]> = {}) {
      const { store, options, openExtra } = await openFresh(t)
      const account = await store.createAccount({ id: 'acme', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', ...overrides })
      return { store, options, openExtra, account }
    }

    describe('migrations', () => {
      it('migrate() twice is a no-op the second time, and ping() answers', async (t) => {
        const { store } = await openFresh(t)
        await store.migrate()
        await store.ping()
        await store.createAccount({ id: 'a', passwordHash: 'h' })
        await store.migrate()
        assert.equal(await store.countAccounts(), 1)
        assert.equal(store.dialect, dialect.name)
      })

      it('two processes migrating one fresh database at once both succeed', async (t) => {
        const { options, openExtra } = await freshDatabase(t)
        await Promise.all([runInWorker(options, { task: 'migrate' }), runInWorker(options, { task: 'migrate' })])
        const store = await openExtra()
        await store.migrate()
        await store.createAccount({ id: 'after-race', passwordHash: 'h' })
        assert.equal(await store.countAccounts(), 1)
      })
    })

    describe('accounts', () => {
      it('creates an account with defaults and reads it back', async (t) => {
        const before = Date.now()
        const { store, account } = await freshAccount(t)
        assert.equal(account.id, 'acme')
        assert.equal(account.status, 'active')
        assert.deepEqual(account.allowedIps, [])
        assert.deepEqual(account.roles, [])
        assert.equal(account.version, 1)
        assert.equal(account.tokensValidAfter, 0)
        assert.equal(account.lockoutGeneration, 0)
        assert.ok(account.createdAt.getTime() >= before - 1000)
        assert.deepEqual(await store.getAccount('acme'), account)
      })

      it('keeps the given status, allowed IPs and roles', async (t) => {
        const { store } = await openFresh(t)
        const created = await store.createAccount({
          id: 'b',
          passwordHash: 'h',
          status: 'suspended',
          allowedIps: ['203.0.113.7/32', '2001:db8::/32'],
          roles: ['introspect'],
        })
        const read = await store.getAccount('b')
        assert.deepEqual(read, created)
        assert.equal(read?.status, 'suspended')
        assert.deepEqual(read?.allowedIps, ['203.0.113.7/32', '2001:db8::/32'])
        assert.deepEqual(read?.roles, ['introspect'])
      })

      it('lists accounts by id and counts them', async (t) => {
        const { store } = await openFresh(t)
        assert.deepEqual(await store.listAccounts(), [])
        assert.equal(await store.countAccounts(), 0)
        for (const id of ['charlie', 'alpha', 'bravo']) await store.createAccount({ id, passwordHash: 'h' })
        assert.deepEqual((await store.listAccounts()).map((a) => a.id), ['alpha', 'bravo', 'charlie'])
        assert.equal(await store.countAccounts(), 3)
      })

      it('refuses a duplicate id with AccountExistsError and keeps the original', async (t) => {
        const { store, account } = await freshAccount(t)
        await assert.rejects(store.createAccount({ id: 'acme', passwordHash: 'other' }), (error: unknown) => {
          assert.ok(error instanceof AccountExistsError)
          assert.equal(error.accountId, 'acme')
          return true
        })
        assert.deepEqual(await store.getAccount('acme'), account)
      })

      it('reports a missing account on every operation', async (t) => {
        const { store } = await openFresh(t)
        assert.equal(await store.getAccount('ghost'), undefined)
        assert.equal(await store.deleteAccount('ghost'), false)
        assert.equal(await store.upgradePasswordHash('ghost', 'a', 'b'), false)
        const mutations: Array<() => Promise<unknown>> = [
          () => store.setPasswordHash('ghost', 'h'),
          () => store.setPasswordHash('ghost', 'h', { revoke: revokeAt(10) }),
          () => store.setStatus('ghost', 'suspended'),
          () => store.setStatus('ghost', 'suspended', { revoke: revokeAt(10) }),
          () => store.addAllowedIp('ghost', '198.51.100.0/24'),
          () => store.removeAllowedIp('ghost', '198.51.100.0/24'),
          () => store.grantRole('ghost', 'introspect'),
          () => store.revokeRole('ghost', 'introspect'),
          () => store.revokeAccountTokens('ghost', 10, 20),
        ]
        for (const mutate of mutations) {
          await assert.rejects(mutate(), (error: unknown) => {
            assert.ok(error instanceof AccountMissingError)
            assert.equal(error.accountId, 'ghost')
            return true
          })
        }
        // A failed revocation must not leave a feed event behind.
        assert.deepEqual(await allEvents(store), [])
      })

      it('deletes an account', async (t) => {
        const { store } = await freshAccount(t)
        assert.equal(await store.deleteAccount('acme'), true)
        assert.equal(await store.getAccount('acme'), undefined)
        assert.equal(await store.countAccounts(), 0)
      })

      it('bumps version and updatedAt on every mutation', async (t) => {
        const { store, account } = await freshAccount(t)
        const steps: Array<[string, () => Promise<Account>]> = [
          ['setPasswordHash', () => store.setPasswordHash('acme', 'h2')],
          ['setPasswordHash+revoke', () => store.setPasswordHash('acme', 'h3', { revoke: revokeAt(100) })],
          ['upgradePasswordHash', async () => {
            assert.equal(await store.upgradePasswordHash('acme', 'h3', 'h4'), true)
            return (await store.getAccount('acme'))!
          }],
          ['setStatus', () => store.setStatus('acme', 'suspended')],
          ['setStatus+revoke', () => store.setStatus('acme', 'active', { revoke: revokeAt(200) })],
          ['addAllowedIp', () => store.addAllowedIp('acme', '192.0.2.1/32')],
          ['removeAllowedIp', async () => (await store.removeAllowedIp('acme', '192.0.2.1/32')).account],
          ['grantRole', () => store.grantRole('acme', 'introspect')],
          ['revokeRole', () => store.revokeRole('acme', 'introspect')],
          ['revokeAccountTokens', () => store.revokeAccountTokens('acme', 300, 400)],
        ]
        let previous = account
        for (const [name, mutate] of steps) {
          const next = await mutate()
          assert.equal(next.version, previous.version + 1, `${name} bumps version`)
          assert.ok(next.updatedAt.getTime() >= previous.updatedAt.getTime(), `${name} moves updatedAt forward`)
          assert.deepEqual(await store.getAccount('acme'), next, `${name} returns what is stored`)
          previous = next
        }
        assert.equal(previous.version, 1 + steps.length)
        assert.equal(previous.passwordHash, 'h4')
        assert.equal(previous.createdAt.getTime(), account.createdAt.getTime())
        assert.equal(previous.lockoutGeneration, 0, 'none of these changes touches the lockout generation')
      })
    })

    describe('allowed IPs and roles', () => {
      it('adds an IP once, keeps insertion order, and removes it', async (t) => {
        const { store } = await freshAccount(t)
        const first = await store.addAllowedIp('acme', '203.0.113.7/32')
        const second = await store.addAllowedIp('acme', '2001:db8::/32')
        assert.deepEqual(second.allowedIps, ['203.0.113.7/32', '2001:db8::/32'])

        const again = await store.addAllowedIp('acme', '203.0.113.7/32')
        assert.deepEqual(again.allowedIps, ['203.0.113.7/32', '2001:db8::/32'])
        assert.equal(again.version, second.version, 'a no-op add writes nothing')
        assert.equal(first.version + 1, second.version)

        const removed = await store.removeAllowedIp('acme', '203.0.113.7/32')
        assert.equal(removed.removed, true)
        assert.deepEqual(removed.account.allowedIps, ['2001:db8::/32'])
        const absent = await store.removeAllowedIp('acme', '203.0.113.7/32')
        assert.equal(absent.removed, false)
        assert.equal(absent.account.version, removed.account.version, 'a no-op remove writes nothing')
      })

      it('matches a list model under any sequence of adds and removes', async (t) => {
        const { store } = await freshAccount(t)
        const cidrs = ['192.0.2.0/24', '198.51.100.7/32', '2001:db8::/48', '203.0.113.0/25']
        const operation = fc.record({ add: fc.boolean(), cidr: fc.constantFrom(...cidrs) })
        let model: string[] = []
        await fc.assert(
          fc.asyncProperty(fc.array(operation, { maxLength: 12 }), async (operations) => {
            for (const { add, cidr } of operations) {
              if (add) {
                const account = await store.addAllowedIp('acme', cidr)
                if (!model.includes(cidr)) model = [...model, cidr]
                assert.deepEqual(account.allowedIps, model)
              } else {
                const { account, removed } = await store.removeAllowedIp('acme', cidr)
                assert.equal(removed, model.includes(cidr))
                model = model.filter((m) => m !== cidr)
                assert.deepEqual(account.allowedIps, model)
              }
            }
          }),
          { numRuns: 15 },
        )
      })

      it('keeps every IP when two processes add different ones at once', async (t) => {
        const { store, options } = await freshAccount(t)
        const batch = (prefix: number) => Array.from({ length: 12 }, (_, i) => `10.${prefix}.${i}.0/24`)
        await Promise.all([
          runInWorker(options, { task: 'addAllowedIps', accountId: 'acme', cidrs: batch(1) }),
          runInWorker(options, { task: 'addAllowedIps', accountId: 'acme', cidrs: batch(2) }),
        ])
        const account = await store.getAccount('acme')
        assert.deepEqual([...(account?.allowedIps ?? [])].sort(), [...batch(1), ...batch(2)].sort())
        assert.equal(account?.version, 1 + 24, 'each add bumped the version exactly once')
      })

      it('grants and revokes a role idempotently', async (t) => {
        const { store } = await freshAccount(t)
        const granted = await store.grantRole('acme', 'introspect')
        assert.deepEqual(granted.roles, ['introspect'])
        const again = await store.grantRole('acme', 'introspect')
        assert.deepEqual(again.roles, ['introspect'])
        assert.equal(again.version, granted.version)
        const revoked = await store.revokeRole('acme', 'introspect')
        assert.deepEqual(revoked.roles, [])
        assert.equal(revoked.version, granted.version + 1)
        assert.deepEqual((await store.getAccount('acme'))?.roles, [])
      })
    })

    describe('passwords and account-wide revocation', () => {
      it('upgradePasswordHash writes only over the expected hash, and revokes nothing', async (t) => {
        const { store, account } = await freshAccount(t, { passwordHash: 'old' })
        assert.equal(await store.upgradePasswordHash('acme', 'not-the-current-one', 'new'), false)
        assert.deepEqual(await store.getAccount('acme'), account)

        assert.equal(await store.upgradePasswordHash('acme', 'old', 'new'), true)
        const upgraded = await store.getAccount('acme')
        assert.equal(upgraded?.passwordHash, 'new')
        assert.equal(upgraded?.tokensValidAfter, 0)
        // The second upgrade from the same stale hash loses: a concurrent change wins.
        assert.equal(await store.upgradePasswordHash('acme', 'old', 'newer'), false)
        assert.equal((await store.getAccount('acme'))?.passwordHash, 'new')
        assert.deepEqual(await allEvents(store), [])
      })

      it('setPasswordHash without revocation leaves tokens valid', async (t) => {
        const { store } = await freshAccount(t)
        const changed = await store.setPasswordHash('acme', 'h2')
        assert.equal(changed.passwordHash, 'h2')
        assert.equal(changed.tokensValidAfter, 0)
        assert.deepEqual(await allEvents(store), [])
      })

      it('setPasswordHash and setStatus with revoke revoke and record an account event', async (t) => {
        const { store } = await freshAccount(t)
        const changed = await store.setPasswordHash('acme', 'h2', { revoke: revokeAt(1_000) })
        assert.equal(changed.tokensValidAfter, 1_000)
        const suspended = await store.setStatus('acme', 'suspended', { revoke: revokeAt(2_000) })
        assert.equal(suspended.status, 'suspended')
        assert.equal(suspended.tokensValidAfter, 2_000)
        const events = await allEvents(store)
        assert.deepEqual(
          events.map(({ kind, subject, at, expiresAt }) => ({ kind, subject, at, expiresAt })),
          [
            { kind: 'account', subject: 'acme', at: 1_000, expiresAt: 1_000 + ACCOUNT_REVOCATION_RETENTION_SECONDS },
            { kind: 'account', subject: 'acme', at: 2_000, expiresAt: 2_000 + ACCOUNT_REVOCATION_RETENTION_SECONDS },
          ],
        )
      })

      it('revokeAccountTokens moves tokensValidAfter strictly forward, never backwards', async (t) => {
        const { store } = await freshAccount(t)
        const first = await store.revokeAccountTokens('acme', 5_000, 95_000)
        assert.equal(first.tokensValidAfter, 5_000)
        // An earlier (or the same) instant still revokes what was issued since: one past the last.
        const earlier = await store.revokeAccountTokens('acme', 4_000, 94_000)
        assert.equal(earlier.tokensValidAfter, 5_001)
        const later = await store.revokeAccountTokens('acme', 6_000, 96_000)
        assert.equal(later.tokensValidAfter, 6_000)
        const suspended = await store.setStatus('acme', 'suspended', { revoke: revokeAt(1) })
        assert.equal(suspended.tokensValidAfter, 6_001)

        const events = await allEvents(store)
        assert.equal(events.length, 4)
        assert.ok(events.every((event) => event.kind === 'account' && event.subject === 'acme'))
        // The feed carries the instant that is in force, so verifiers never un-revoke either.
        assert.deepEqual(events.map((event) => event.at), [5_000, 5_001, 6_000, 6_001])
        // Each event is kept as long past its instant in force as was asked.
        assert.deepEqual(events.slice(0, 3).map((event) => event.expiresAt), [95_000, 95_001, 96_000])
      })
    })

    describe('signing keys', () => {
      it('inserts and lists keys with every field', async (t) => {
        const { store } = await openFresh(t)
        assert.deepEqual(await store.listKeys(), [])
        const current = keyRecord('k1', 'current', new Date(1_700_000_000_000))
        const next = { ...keyRecord('k2', 'next', new Date(1_700_000_100_000)), alg: 'HS256' as const, publicJwk: null }
        await store.insertKey(next)
        await store.insertKey(current)
        assert.deepEqual(await store.listKeys(), [current, next])
      })

      it('refuses a second current key (the partial unique index)', async (t) => {
        const { store } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'current'))
        await assert.rejects(store.insertKey(keyRecord('k2', 'current')))
        await store.insertKey(keyRecord('k3', 'retired'))
        await store.insertKey(keyRecord('k4', 'retired'))
        assert.deepEqual((await store.listKeys()).map((key) => key.kid), ['k1', 'k3', 'k4'])
      })

      it('refuses a second next key; insertNextKey reports the one that waits, or honours replacingCurrent', async (t) => {
        const { store } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'current'))
        await store.insertKey(keyRecord('k2', 'next'))
        await assert.rejects(store.insertKey(keyRecord('k3', 'next')), 'the partial unique index signing_keys_one_next')
        const waiting = await store.insertNextKey(keyRecord('k4', 'next'))
        assert.deepEqual(waiting && { kid: waiting.key.kid, created: waiting.created }, { kid: 'k2', created: false })
        assert.equal(await store.promoteKey('k2', new Date()), true)
        assert.equal(await store.insertNextKey(keyRecord('k5', 'next'), { replacingCurrent: 'k1' }), undefined, 'k1 is no longer current')
        const added = await store.insertNextKey(keyRecord('k6', 'next'), { replacingCurrent: 'k2' })
        assert.deepEqual(added && { kid: added.key.kid, created: added.created }, { kid: 'k6', created: true })
        assert.deepEqual(
          (await store.listKeys()).map((key) => [key.kid, key.state]),
          [['k1', 'retired'], ['k2', 'current'], ['k6', 'next']],
        )
      })

      it('promotes next to current and retires the old current in one step', async (t) => {
        const { store } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'current'))
        await store.insertKey(keyRecord('k2', 'next', new Date(1_700_000_100_000)))
        const now = new Date(1_700_000_200_000)
        assert.equal(await store.promoteKey('k2', now), true)
        const keys = await store.listKeys()
        assert.deepEqual(keys.filter((key) => key.state === 'current').map((key) => key.kid), ['k2'])
        const [k1, k2] = keys
        assert.equal(k1?.state, 'retired')
        assert.deepEqual(k1?.retiredAt, now)
        assert.deepEqual(k2?.activatedAt, now)
        assert.equal(k2?.retiredAt, null)
      })

      it('promotes the first key when none is current', async (t) => {
        const { store } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'next'))
        assert.equal(await store.promoteKey('k1', new Date()), true)
        assert.equal((await store.listKeys())[0]?.state, 'current')
      })

      it('refuses to promote a key that is not next, and changes nothing', async (t) => {
        const { store } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'current'))
        await store.insertKey(keyRecord('k2', 'retired'))
        const before = await store.listKeys()
        assert.equal(await store.promoteKey('k1', new Date()), false)
        assert.equal(await store.promoteKey('k2', new Date()), false)
        assert.equal(await store.promoteKey('missing', new Date()), false)
        assert.deepEqual(await store.listKeys(), before, 'the retirement was rolled back')
      })

      it('lets exactly one of two processes promote the same key', async (t) => {
        const { store, options } = await openFresh(t)
        await store.insertKey(keyRecord('k1', 'current'))
        await store.insertKey(keyRecord('k2', 'next'))
        const results = await Promise.all([
          runInWorker(options, { task: 'promoteKey', kid: 'k2' }),
          runInWorker(options, { task: 'promoteKey', kid: 'k2' }),
        ])
        assert.deepEqual([...results].sort(), [false, true])
        const keys = await store.listKeys()
        assert.deepEqual(keys.map((key) => [key.kid, key.state]), [['k1', 'retired'], ['k2', 'current']])
      })

      it('lets exactly one promotion win when two stores race on the same key', async (t) => {
        const { store, openExtra } = await openFresh(t)
        // SQLite: one store per process (see the file comment); the race is then in-process only.
        const other = dialect.name === 'postgres' ? await openExtra() : store
        await store.insertKey(keyRecord('k1', 'current'))
        await store.insertKey(keyRecord('k2', 'next'))
        const results = await Promise.all([
          store.promoteKey('k2', new Date()),
          other.promoteKey('k2', new Date()),
          store.promoteKey('k2', new Date()),
          other.promoteKey('k2', new Date()),
        ])
        assert.equal(results.filter(Boolean).length, 1)
        assert.equal((await store.listKeys()).filter((key) => key.state === 'current').length, 1)
      })

      it('removes only retired keys retired before the cutoff', async (t) => {
        const { store } = await openFresh(t)
        const old = { ...keyRecord('old', 'retired'), retiredAt: new Date(1_000_000) }
        const recent = { ...keyRecord('recent', 'retired'), retiredAt: new Date(3_000_000) }
        await store.insertKey(old)
        await store.insertKey(recent)
        await store.insertKey({ ...keyRecord('cur', 'current'), retiredAt: null })
        await store.insertKey(keyRecord('nxt', 'next'))
        assert.equal(await store.removeRetiredKeys(new Date(2_000_000)), 1)
        assert.deepEqual((await store.listKeys()).map((key) => key.kid).sort(), ['cur', 'nxt', 'recent'])
        assert.equal(await store.removeRetiredKeys(new Date(2_000_000)), 0)
      })
    })

    describe('token revocation', () => {
      it('revokes a jti idempotently: one row, one feed event', async (t) => {
        const { store } = await openFresh(t)
        assert.equal(await store.isJtiRevoked('jti-1'), false)
        await store.revokeJti('jti-1', 1_000, 1_300)
        await store.revokeJti('jti-1', 1_000, 1_300)
        assert.equal(await store.isJtiRevoked('jti-1'), true)
        assert.equal(await store.isJtiRevoked('jti-2'), false)
        const events = await allEvents(store)
        assert.equal(events.length, 1)
        assert.deepEqual(
          events.map(({ kind, subject, at, expiresAt }) => ({ kind, subject, at, expiresAt })),
          [{ kind: 'jti', subject: 'jti-1', at: 1_000, expiresAt: 1_300 }],
        )
        assert.ok(events[0]!.createdAt instanceof Date)
      })

      it('pages through the feed oldest first without gaps or repeats', async (t) => {
        const { store } = await freshAccount(t)
        for (let i = 0; i < 7; i++) {
          if (i % 3 === 2) await store.revokeAccountTokens('acme', 100 + i, 10_000)
          else await store.revokeJti(`jti-${i}`, 100 + i, 10_000)
        }
        const seen: number[] = []
        const subjects: string[] = []
        let cursor = 0
        for (;;) {
          const page = await store.revocationsSince(cursor, 3)
          assert.ok(page.length <= 3)
          if (page.length === 0) break
          for (const event of page) {
            assert.ok(event.seq > cursor)
            seen.push(event.seq)
            subjects.push(event.subject)
          }
          cursor = page[page.length - 1]!.seq
        }
        assert.equal(seen.length, 7)
        assert.deepEqual(seen, [...seen].sort((a, b) => a - b))
        assert.deepEqual(subjects, ['jti-0', 'jti-1', 'acme', 'jti-3', 'jti-4', 'acme', 'jti-6'])
        assert.deepEqual(await store.revocationsSince(cursor, 3), [])
      })

      it('never lets a following reader skip an event under concurrent revocations', async (t) => {
        const { store, openExtra } = await openFresh(t)
        const writers = dialect.name === 'postgres' ? [store, await openExtra(), await openExtra()] : [store]
        const total = 60
        const collected: number[] = []
        let cursor = 0
        let writing = true
        const follow = async () => {
          while (writing || collected.length < total) {
            // Only a read that started after the last write committed may end the follow: one
            // already in flight then has an older snapshot, and its empty page proves nothing.
            const startedAfterWrites = !writing
            const page = await store.revocationsSince(cursor, 7)
            for (const event of page) collected.push(event.seq)
            if (page.length > 0) cursor = page[page.length - 1]!.seq
            else if (startedAfterWrites) break
          }
        }
        const reader = follow()
        await Promise.all(
          Array.from({ length: total }, (_, i) => writers[i % writers.length]!.revokeJti(`jti-${i}`, 1_000, 2_000)),
        )
        writing = false
        await reader
        assert.equal(collected.length, total, 'the follower saw every event exactly once')
        assert.equal(new Set(collected).size, total)
      })

      if (dialect.name === 'postgres') {
        it('makes feed events visible in seq order even when a lower seq commits late', async (t) => {
          const { store, options } = await openFresh(t)
          // A trigger holds back the commit of 'slow…' events on a gate this test controls, after
          // the event got its seq: exactly the window in which a later event could overtake it.
          const admin = new pg.Client({ connectionString: options.databaseUrl })
          await admin.connect()
          try {
            await admin.query(`
              create function test_commit_gate() returns trigger language plpgsql as $$
              begin
                if new.subject like 'slow%' then perform pg_advisory_xact_lock_shared(${COMMIT_GATE_KEY}); end if;
                return new;
              end $$;
              create trigger test_commit_gate after insert on revocation_events
                for each row execute function test_commit_gate();
            `)
            await admin.query(`select pg_advisory_lock(${COMMIT_GATE_KEY})`)
            const waitingLocks = async () =>
              Number(
                (
                  await admin.query(`
                    select count(*) as n from pg_locks
                    where locktype = 'advisory' and not granted
                      and database = (select oid from pg_database where datname = current_database())`)
                ).rows[0].n,
              )

            const slow = store.revokeJti('slow', 1_000, 2_000)
            await pollUntil(async () => (await waitingLocks()) === 1, 'the slow event waits at the gate')
            let fastSettled = false
            const fast = store.revokeJti('fast', 1_000, 2_000).finally(() => (fastSettled = true))
            // Either the store made the fast event wait for the slow one, or the fast one committed.
            await pollUntil(async () => fastSettled || (await waitingLocks()) === 2, 'the fast event waits or commits')

            const midway = await store.revocationsSince(0, 100)
            const cursor = midway.length ? midway[midway.length - 1]!.seq : 0
            await admin.query(`select pg_advisory_unlock(${COMMIT_GATE_KEY})`)
            await Promise.all([slow, fast])
            const rest = await store.revocationsSince(cursor, 100)
            assert.deepEqual(
              [...midway, ...rest].map((event) => event.subject),
              ['slow', 'fast'],
              'a follower whose cursor passed a seq never misses a lower one',
            )
          } finally {
            await admin.end()
          }
        })
      }

      it('prunes expired jtis and events, and never reuses a seq', async (t) => {
        const { store } = await freshAccount(t)
        await store.revokeJti('expired', 100, 500)
        await store.revokeJti('alive', 100, 5_000)
        await store.revokeAccountTokens('acme', 100, 600)
        const before = await allEvents(store)
        const lastSeq = before[before.length - 1]!.seq

        assert.equal(await store.pruneRevocations(1_000), 1 + 2, 'one jti row and two events')
        assert.equal(await store.isJtiRevoked('expired'), false)
        assert.equal(await store.isJtiRevoked('alive'), true)
        assert.deepEqual((await allEvents(store)).map((event) => event.subject), ['alive'])
        assert.equal(await store.pruneRevocations(1_000), 0)

        // Prune the newest event too: the next one must still come after every seq handed out.
        assert.equal(await store.pruneRevocations(10_000), 2)
        await store.revokeJti('later', 100, 50_000)
        const [later] = await allEvents(store)
        assert.ok(later!.seq > lastSeq)
      })
    })

    describe('lifecycle', () => {
      it('close() is idempotent and later calls fail', async (t) => {
        const { openExtra } = await freshDatabase(t)
        const store = await openExtra()
        await store.migrate()
        await store.createAccount({ id: 'a', passwordHash: 'h' })
        await store.close()
        await store.close()
        await assert.rejects(store.listAccounts())
        await assert.rejects(store.getAccount('a'))
        // The data outlives the store.
        const reopened = await openExtra()
        assert.equal((await reopened.getAccount('a'))?.id, 'a')
      })
    })

    if (dialect.name === 'sqlite') {
      describe('files', () => {
        it('creates the data dir 0700 and the database, WAL and SHM files 0600', async (t) => {
          const { store, options } = await freshAccount(t)
          await store.revokeJti('j', 1, 2)
          const dataDir = options.dataDir!
          assert.equal((await stat(dataDir)).mode & 0o777, 0o700)
          for (const suffix of ['', '-wal', '-shm']) {
            const file = join(dataDir, `bizauth.sqlite${suffix}`)
            assert.equal((await stat(file)).mode & 0o777, 0o600, file)
          }
        })

        it('leaves the permissions of an existing data dir alone', async (t) => {
          const dataDir = join(await useTempDir(t), 'shared')
          await mkdir(dataDir, { mode: 0o750 })
          const store = await openStore({ dataDir })
          try {
            assert.equal((await stat(dataDir)).mode & 0o777, 0o750)
            assert.equal((await stat(join(dataDir, 'bizauth.sqlite'))).mode & 0o777, 0o600)
          } finally {
            await store.close()
          }
        })
      })
    }
  })
}

describe('openStore', () => {
  it('refuses a URL it cannot serve, without echoing it', async () => {
    await assert.rejects(openStore({ databaseUrl: 'mysql://user:s3cret@host/db' }), (error: Error) => {
      assert.doesNotMatch(error.message, /s3cret/)
      return true
    })
  })

  it('needs a data dir when no URL is given', async (t) => {
    await assert.rejects(openStore({}))
    const dataDir = join(await useTempDir(t), 'data')
    const store = await openStore({ dataDir })
    assert.equal(store.dialect, 'sqlite')
    await store.close()
  })
})
