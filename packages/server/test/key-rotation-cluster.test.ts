/**
 * Cluster-safe key rotation (issue 9 §5): automatic rotation on several instances, `bizauth
 * keys rotate` started on several hosts, or both at the same moment, leave exactly one next
 * key; concurrent promotion then leaves exactly one current key, and it is the key that was
 * next. Each instance is a KeyRing on a store of its own (its own connections) on one
 * PostgreSQL; the CLI runs as real child processes.
 *
 * Races are exercised many times over (ROUNDS) rather than once, so a rare interleaving
 * shows up as a failure here rather than in production.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createKeyEncryption } from '../src/keys/key-encryption.js'
import { KeyRing, maintainKeys, rotateKey, type KeyRingOptions } from '../src/keys/key-ring.js'
import { createAuditSeal } from '../src/store/audit-chain.js'
import { openStore } from '../src/store/open.js'
import type { SigningKeyRecord, Store } from '../src/store/store.js'
import { runCli } from './helpers/cli.js'
import { postgresSkipReason, withPostgresDatabase, type PostgresTestDatabase } from './helpers/postgres.js'

const skip = await postgresSkipReason()

const ROUNDS = 30
const INSTANCES = 3
const ROTATION_INTERVAL_SECONDS = 60
const PROMOTION_DELAY_SECONDS = 600

function ringOptions(rotationIntervalSeconds: number): KeyRingOptions {
  return {
    algorithm: 'EdDSA',
    encryption: createKeyEncryption(undefined),
    promotionDelaySeconds: PROMOTION_DELAY_SECONDS,
    rotationIntervalSeconds,
    refreshSeconds: 3600,
    clockSkewSeconds: 300,
    audit: { context: { actor: { type: 'system', id: 'rotation' }, source: 'test' }, seal: createAuditSeal(undefined) },
  }
}

function inState(keys: readonly SigningKeyRecord[], state: SigningKeyRecord['state']): SigningKeyRecord[] {
  return keys.filter((key) => key.state === state)
}

async function openInstances(database: PostgresTestDatabase): Promise<Store[]> {
  const stores: Store[] = []
  for (let i = 0; i < INSTANCES; i++) {
    const store = await openStore({ databaseUrl: database.url })
    await store.migrate()
    stores.push(store)
  }
  return stores
}

describe('key rotation across instances on one PostgreSQL', { skip }, () => {
  let database: PostgresTestDatabase
  let stores: Store[] = []

  before(async () => {
    database = await withPostgresDatabase()
    stores = await openInstances(database)
  })
  after(async () => {
    for (const store of stores) await store.close()
    await database?.drop()
  })

  it(`automatic rotation on every instance plus two rotations at once leave one next key, and concurrent promotion makes it current (${ROUNDS} rounds)`, async () => {
    const rings = await Promise.all(stores.map((store) => KeyRing.open(store, ringOptions(ROTATION_INTERVAL_SECONDS))))
    let current = inState(await stores[0]!.listKeys(), 'current')
    assert.equal(current.length, 1)
    let clock = current[0]!.activatedAt!.getTime()

    for (let round = 0; round < ROUNDS; round++) {
      // Every instance finds the current key old at the same moment an operator (twice) rotates.
      const rotationDue = new Date(clock + (ROTATION_INTERVAL_SECONDS + 1) * 1000)
      const rotations = await Promise.all([
        ...rings.map((ring) => ring.refresh(rotationDue).then(() => undefined)),
        rotateKey(stores[0]!, ringOptions(0), false, rotationDue),
        rotateKey(stores[1]!, ringOptions(0), false, rotationDue),
      ])
      let keys = await stores[0]!.listKeys()
      const next = inState(keys, 'next')
      assert.equal(next.length, 1, `round ${round}: exactly one next key`)
      assert.deepEqual(inState(keys, 'current').map((key) => key.kid), [current[0]!.kid], `round ${round}: the current key is untouched`)
      for (const rotation of rotations) if (rotation) assert.equal(rotation.kid, next[0]!.kid, `round ${round}: every rotation reports the one next key`)

      // Every instance promotes at the same moment, past the delay.
      const promotionDue = new Date(rotationDue.getTime() + (PROMOTION_DELAY_SECONDS + 1) * 1000)
      await Promise.all(rings.map((ring) => ring.refresh(promotionDue)))
      keys = await stores[0]!.listKeys()
      current = inState(keys, 'current')
      assert.deepEqual(current.map((key) => key.kid), [next[0]!.kid], `round ${round}: exactly one current key, the one that was next`)
      assert.equal(inState(keys, 'next').length, 0, `round ${round}: nothing rotated in behind it`)
      for (const ring of rings) assert.equal(ring.current.kid, next[0]!.kid, `round ${round}: every ring signs with it`)
      clock = promotionDue.getTime()
    }
    const created = await stores[0]!.listAuditEvents({ action: 'key.create', limit: 1000 })
    assert.equal(created.events.length, 1 + ROUNDS, 'one key.create per round, plus the first key')
    const promoted = await stores[0]!.listAuditEvents({ action: 'key.promote', limit: 1000 })
    assert.equal(promoted.events.length, ROUNDS, 'one key.promote per round')
  })

  it(`\`rotateKey --now\` on several instances at once leaves one current key and no next key (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(stores.map((store) => rotateKey(store, ringOptions(0), true)))
      const keys = await stores[0]!.listKeys()
      const current = inState(keys, 'current')
      assert.equal(current.length, 1, `round ${round}: exactly one current key`)
      assert.equal(inState(keys, 'next').length, 0, `round ${round}: no next key left behind`)
      assert.ok(results.every((result) => result.promoted), `round ${round}: each reports its key current`)
      assert.ok(results.some((result) => result.kid === current[0]!.kid), `round ${round}: the current key is one of theirs`)
    }
  })
})

describe('`bizauth keys rotate` on several hosts at once, with automatic rotation', { skip }, () => {
  const CLI_ROUNDS = 3
  const CLI_CHILDREN = 4
  let database: PostgresTestDatabase
  let stores: Store[] = []

  before(async () => {
    database = await withPostgresDatabase()
    stores = await openInstances(database)
  })
  after(async () => {
    for (const store of stores) await store.close()
    await database?.drop()
  })

  it('leaves exactly one next key, which every command reports', async () => {
    const ring = await KeyRing.open(stores[0]!, ringOptions(ROTATION_INTERVAL_SECONDS))
    for (let round = 0; round < CLI_ROUNDS; round++) {
      const current = inState(await stores[0]!.listKeys(), 'current')[0]!
      const rotationDue = new Date(current.activatedAt!.getTime() + (ROTATION_INTERVAL_SECONDS + 1) * 1000)
      const children = Array.from({ length: CLI_CHILDREN }, () => runCli(['keys', 'rotate', '--database-url', database.url]))
      // The instances try to rotate automatically for as long as the commands run.
      let running = true
      const automatic = Promise.all(
        stores.map(async (store) => {
          while (running) await maintainKeys(store, ringOptions(ROTATION_INTERVAL_SECONDS), rotationDue)
        }),
      )
      const runs = await Promise.all(children)
      running = false
      await automatic

      const keys = await stores[0]!.listKeys()
      const next = inState(keys, 'next')
      assert.equal(next.length, 1, `round ${round}: exactly one next key`)
      assert.equal(inState(keys, 'current')[0]!.kid, current.kid)
      for (const run of runs) {
        assert.equal(run.code, 0, run.stderr)
        assert.equal(/^kid: +(\S+)$/m.exec(run.stdout)?.[1], next[0]!.kid, `round ${round}: every command reports the one next key`)
      }
      const added = runs.filter((run) => !run.stdout.includes('a next key was already waiting')).length
      assert.ok(added <= 1, `round ${round}: at most one command added a key (${added})`)

      // Promote it before the next round, as a running instance would after the delay.
      await ring.refresh(new Date(rotationDue.getTime() + (PROMOTION_DELAY_SECONDS + 1) * 1000))
      assert.equal(ring.current.kid, next[0]!.kid)
    }
  })
})
