/**
 * Changes reach every instance at once (issue 9 §3): on PostgreSQL each committed change is
 * announced (NOTIFY in its transaction) and heard on one listening connection per instance,
 * which reconnects by itself after a loss and then announces `resync`.
 *
 * Assertions count what arrived; waits are bounded polls (wait-for.ts), never sleeps.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { RevocationList } from '@bizauth/verify/core'
import { createKeyEncryption } from '../src/keys/key-encryption.js'
import { createKeyRecord } from '../src/keys/key-material.js'
import { RevocationFollower } from '../src/revocation/revocation-follower.js'
import { openStore } from '../src/store/open.js'
import { LISTENER_APPLICATION_NAME } from '../src/store/postgres/change-listener.js'
import type { Store, StoreChange } from '../src/store/store.js'
import { FAST_ARGON2_ENV } from './helpers/server-process.js'
import { basic, startTestApp, type TestApp } from './helpers/app.js'
import { runCli, startServe, type ServeProcess } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'
import { startProxyFor, type TcpProxy } from './helpers/tcp-proxy.js'
import { useTempDir } from './helpers/tmp.js'
import { waitFor } from './helpers/wait-for.js'

const skip = await postgresSkipReason()

/** Every change a store hears, in order, with a way to wait for one. */
function recordChanges(store: Store): { changes: StoreChange[]; waitFor(what: string, matches: (change: StoreChange) => boolean, count?: number): Promise<void>; stop(): void } {
  const changes: StoreChange[] = []
  const stop = store.onChange((change) => changes.push(change))
  return {
    changes,
    stop,
    async waitFor(what, matches, count = 1) {
      await waitFor(() => (changes.filter(matches).length >= count ? true : undefined), { timeoutMs: 20_000, what })
    },
  }
}

const keyEncryption = createKeyEncryption(undefined)

/** Listening connections open on the database, as PostgreSQL counts them. */
async function listeningConnections(database: PostgresTestDatabase): Promise<number> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    const result = await client.query<{ count: string }>('select count(*) as count from pg_stat_activity where datname = $1 and application_name = $2', [database.name, LISTENER_APPLICATION_NAME])
    return Number(result.rows[0]!.count)
  } finally {
    await client.end()
  }
}

describe('on SQLite', () => {
  it("this process's commits are told to its subscribers once committed; another process's are not, and a rollback tells nothing", async (t) => {
    const dataDir = await useTempDir(t)
    const store = await openStore({ dataDir })
    t.after(() => store.close())
    await store.migrate()
    // Another store on the same file stands for another process (the CLI): no channel reaches us from it.
    const other = await openStore({ dataDir })
    t.after(() => other.close())
    const heard: StoreChange[] = []
    const stop = store.onChange((change) => heard.push(change))
    await other.createAccount({ id: 'from-elsewhere', passwordHash: 'hash' })
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.createAccount({ id: 'ghost', passwordHash: 'hash' })
        throw new Error('rolled back on purpose')
      }),
      /rolled back on purpose/,
    )
    await store.createAccount({ id: 'acme', passwordHash: 'hash' })
    await store.revokeJti('jti', 2_000_000_000, 2_000_000_300)
    await store.insertKey(await createKeyRecord('EdDSA', 'current', keyEncryption, new Date()))
    // Told after the commit, off its call stack: one more turn of the microtask queue.
    await new Promise<void>((resolve) => queueMicrotask(resolve))
    stop()
    assert.deepEqual(heard, [{ kind: 'account', id: 'acme' }, { kind: 'revocation' }, { kind: 'keys' }])
    await store.createAccount({ id: 'after-stop', passwordHash: 'hash' })
    await new Promise<void>((resolve) => queueMicrotask(resolve))
    assert.equal(heard.length, 3, 'nothing after the subscription ends')
  })
})

describe('acting on an announcement while a pass is in flight', () => {
  it('pollNow runs one more pass after the one in flight, shared by every call made during it', async (t) => {
    const store = await openStore({ dataDir: await useTempDir(t) })
    t.after(() => store.close())
    await store.migrate()
    const revocations = new RevocationList(86_400)
    const follower = new RevocationFollower(store, revocations, { pollIntervalMs: 3_600_000, pruneIntervalMs: 3_600_000, clockSkewSeconds: 300 })
    await follower.catchUp()
    const passesBefore = follower.passes
    await store.revokeJti('announced', 2_000_000_000, 2_000_000_300)
    const inFlight = follower.catchUp()
    const first = follower.pollNow()
    assert.equal(follower.pollNow(), first, 'calls during one pass share the pass after it')
    await Promise.all([inFlight, first])
    assert.equal(follower.passes, passesBefore + 2)
    assert.equal(revocations.isTokenRevoked('announced'), true)
  })
})

describe('the listening connection on PostgreSQL', { skip }, () => {
  it('is opened by the first subscriber only: a store that only writes (a CLI command) opens none', async () => {
    const database = await withPostgresDatabase()
    const store = await openStore({ databaseUrl: database.url })
    try {
      await store.migrate()
      await store.createAccount({ id: 'cli-made', passwordHash: 'hash' })
      await store.revokeJti('cli-jti', 2_000_000_000, 2_000_000_300)
      assert.equal(await listeningConnections(database), 0)
      const stop = store.onChange(() => undefined)
      await waitFor(async () => ((await listeningConnections(database)) === 1 ? true : undefined), { what: 'the listening connection' })
      stop()
      await store.close()
      await waitFor(async () => ((await listeningConnections(database)) === 0 ? true : undefined), { what: 'close() to end it' })
    } finally {
      await store.close()
      await database.drop()
    }
  })
})

describe('store change notifications on PostgreSQL', { skip }, () => {
  let database: PostgresTestDatabase
  let listening: Store
  /** A second store on the same database, as the CLI opens one. */
  let writer: Store
  let heard: ReturnType<typeof recordChanges>

  before(async () => {
    database = await withPostgresDatabase()
    listening = await openStore({ databaseUrl: database.url })
    await listening.migrate()
    writer = await openStore({ databaseUrl: database.url })
    heard = recordChanges(listening)
    await heard.waitFor('the first LISTEN (announced as resync)', (change) => change.kind === 'resync')
  })
  after(async () => {
    heard?.stop()
    await listening?.close()
    await writer?.close()
    await database?.drop()
  })

  it('a change committed by another store is heard, for each kind', async () => {
    await writer.createAccount({ id: 'acme', passwordHash: 'hash-1' })
    await heard.waitFor('the account creation', (change) => change.kind === 'account' && change.id === 'acme')
    await writer.addAllowedIp('acme', '203.0.113.7/32')
    await writer.setStatus('acme', 'suspended')
    await heard.waitFor('two more account changes', (change) => change.kind === 'account' && change.id === 'acme', 3)

    await writer.revokeJti('jti-1', 2_000_000_000, 2_000_000_300)
    await heard.waitFor('the token revocation', (change) => change.kind === 'revocation')
    await writer.revokeAccountTokens('acme', 1_800_000_000, 1_800_100_000)
    await heard.waitFor('the account-wide revocation', (change) => change.kind === 'revocation', 2)

    const first = await createKeyRecord('EdDSA', 'current', keyEncryption, new Date())
    await writer.insertKey(first)
    await heard.waitFor('the first key', (change) => change.kind === 'keys')
    const next = await createKeyRecord('EdDSA', 'next', keyEncryption, new Date())
    await writer.insertNextKey(next)
    await writer.promoteKey(next.kid, new Date())
    await heard.waitFor('the next key and its promotion', (change) => change.kind === 'keys', 3)

    await writer.importAccounts([{ id: 'imported', passwordHash: 'hash-2', allowedIps: [], roles: [], status: 'active' }], 'keep')
    await heard.waitFor('the import', (change) => change.kind === 'accounts')
    assert.equal(await writer.deleteAccount('imported'), true)
    await heard.waitFor('the deletion', (change) => change.kind === 'account' && change.id === 'imported')
    const payloads = JSON.stringify(heard.changes)
    assert.ok(!payloads.includes('hash-') && !payloads.includes('private'), 'no hash or key material in any announcement')
  })

  it('a rolled-back transaction announces nothing; a no-op announces nothing', async () => {
    await assert.rejects(
      writer.transaction(async (tx) => {
        await tx.createAccount({ id: 'ghost', passwordHash: 'hash-3' })
        await tx.revokeJti('ghost-jti', 2_000_000_000, 2_000_000_300)
        throw new Error('rolled back on purpose')
      }),
      /rolled back on purpose/,
    )
    assert.equal(await writer.deleteAccount('never-existed'), false)
    const revocationsBefore = heard.changes.filter((change) => change.kind === 'revocation').length
    // A marker committed after both: once it is heard, anything sent before it has been too.
    await writer.createAccount({ id: 'marker', passwordHash: 'hash-4' })
    await heard.waitFor('the marker', (change) => change.kind === 'account' && change.id === 'marker')
    assert.equal(heard.changes.filter((change) => change.kind === 'account' && (change.id === 'ghost' || change.id === 'never-existed')).length, 0)
    assert.equal(heard.changes.filter((change) => change.kind === 'revocation').length, revocationsBefore)
  })
})

describe('a lost listening connection on PostgreSQL', { skip }, () => {
  let database: PostgresTestDatabase
  let proxy: TcpProxy
  let app: TestApp
  let writer: Store

  before(async () => {
    database = await withPostgresDatabase()
    const proxied = await startProxyFor(database.url, 5432)
    proxy = proxied.proxy
    // Key refresh once an hour: only an announcement (or resync) makes the ring reload here.
    app = await startTestApp({ keyRefreshSeconds: 3600, databaseConnectTimeoutMs: 500 }, { databaseUrl: proxied.url })
    writer = await openStore({ databaseUrl: database.url })
  })
  after(async () => {
    await app?.close()
    await writer?.close()
    await proxy?.close()
    await database?.drop()
  })

  it('reconnects by itself, announces resync, and what changed meanwhile is applied', async () => {
    const heard = recordChanges(app.store)
    try {
      await heard.waitFor('the first LISTEN', (change) => change.kind === 'resync')
      // While connected, a new key reaches the ring by announcement alone (refresh is hourly).
      const announced = await createKeyRecord('EdDSA', 'next', keyEncryption, new Date())
      await writer.insertNextKey(announced)
      await waitFor(() => (app.services.keys.find(announced.kid) ? true : undefined), { what: 'the ring to load the announced key' })

      const resyncsBefore = heard.changes.filter((change) => change.kind === 'resync').length
      const acceptedBefore = proxy.accepted
      proxy.blackhole()
      proxy.cut()
      // Made while the listener is deaf and cannot reconnect: their announcements are lost.
      const current = (await writer.listKeys()).find((key) => key.state === 'current')!
      assert.equal(await writer.promoteKey(announced.kid, new Date()), true)
      const missed = await createKeyRecord('EdDSA', 'next', keyEncryption, new Date())
      await writer.insertNextKey(missed)
      await writer.revokeJti('revoked-while-down', 2_000_000_000, 2_000_000_300)
      await waitFor(() => (proxy.accepted > acceptedBefore ? true : undefined), { what: 'a reconnection attempt into the blackhole' })
      assert.equal(app.services.keys.find(missed.kid), undefined, 'nothing heard while down')
      proxy.resume()

      await heard.waitFor('resync after the reconnection', (change) => change.kind === 'resync', resyncsBefore + 1)
      await waitFor(() => (app.services.keys.find(missed.kid) ? true : undefined), { what: 'the ring to load the key added while down' })
      assert.equal(app.services.keys.current.kid, announced.kid)
      assert.equal(app.services.keys.find(current.kid)?.state, 'retired')
      await waitFor(() => (app.services.revocations.isTokenRevoked('revoked-while-down') ? true : undefined), { what: 'the follower to know the revocation' })

      // And announcements flow again on the new connection.
      await writer.revokeJti('revoked-after', 2_000_000_000, 2_000_000_300)
      await waitFor(() => (app.services.revocations.isTokenRevoked('revoked-after') ? true : undefined), { what: 'the follower to apply a later revocation' })
    } finally {
      heard.stop()
    }
  })
})

describe('two `bizauth serve` on one PostgreSQL', { skip }, () => {
  let database: PostgresTestDatabase
  const servers: ServeProcess[] = []
  const storeArgs = (): string[] => ['--database-url', database.url]

  before(async () => {
    database = await withPostgresDatabase()
    for (const [id, extra] of [['acme', []], ['rs', ['--role', 'introspect']]] as const) {
      const created = await runCli(['account', 'create', id, '--allow-ip', '127.0.0.1', ...extra, '--password-stdin', ...storeArgs()], {
        input: `${id}-password-1\n`,
        env: FAST_ARGON2_ENV,
      })
      assert.equal(created.code, 0, created.stderr)
    }
    for (let i = 0; i < 2; i++) servers.push(await startServe(['--port', '0', ...storeArgs()], { env: { ...FAST_ARGON2_ENV, BIZAUTH_ADMIN_PORT: 'off' } }))
  })
  after(async () => {
    for (const server of servers) await server.stop('SIGKILL')
    await database?.drop()
  })

  async function introspectActive(server: ServeProcess, token: string): Promise<boolean> {
    const response = await fetch(`${server.url}/v1/token/introspect`, {
      method: 'POST',
      headers: { authorization: basic('rs', 'rs-password-1'), 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    })
    assert.equal(response.status, 200)
    return ((await response.json()) as { active: boolean }).active
  }

  it('a `bizauth token revoke` from the CLI is refused by introspection on both', async () => {
    const response = await fetch(`${servers[0]!.url}/v1/token`, { method: 'POST', headers: { authorization: basic('acme', 'acme-password-1') } })
    assert.equal(response.status, 200)
    const token = String(((await response.json()) as { accesstoken: string }).accesstoken)
    for (const server of servers) assert.equal(await introspectActive(server, token), true, 'active on both first')

    const revoked = await runCli(['token', 'revoke', '-', ...storeArgs()], { input: `${token}\n` })
    assert.equal(revoked.code, 0, revoked.stderr)
    for (const server of servers) {
      await waitFor(async () => ((await introspectActive(server, token)) ? undefined : true), { what: `introspection on ${server.url} to refuse it` })
    }
  })
})
