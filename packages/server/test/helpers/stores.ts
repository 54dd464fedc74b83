/**
 * A fresh, migrated store on each dialect, for suites that test domain services over the real
 * store: `for (const dialect of STORE_DIALECTS) describe(..., { skip: await dialect.skip() }, …)`.
 */
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { createAuditSeal } from '../../src/store/audit-chain.js'
import { openStore } from '../../src/store/open.js'
import type { Store } from '../../src/store/store.js'
import { postgresSkipReason, withPostgresDatabase } from './postgres.js'
import { makeTempDir } from './tmp.js'

export interface StoreDialect {
  readonly name: Store['dialect']
  /** Why the suite must be skipped here, or undefined. */
  skip(): Promise<string | undefined>
  /** A migrated store on a database of its own, closed and removed when the test ends. */
  open(t: TestContext): Promise<Store>
}

export const STORE_DIALECTS: readonly StoreDialect[] = [
  {
    name: 'sqlite',
    skip: async () => undefined,
    async open(t) {
      const dir = await makeTempDir()
      const store = await openStore({ dataDir: join(dir.path, 'data') })
      t.after(async () => {
        await store.close()
        await dir.remove()
      })
      await store.migrate()
      return store
    },
  },
  {
    name: 'postgres',
    skip: postgresSkipReason,
    async open(t) {
      const database = await withPostgresDatabase()
      const store = await openStore({ databaseUrl: database.url, postgresPoolSize: 4 })
      t.after(async () => {
        await store.close()
        await database.drop()
      })
      await store.migrate()
      return store
    },
  },
]

/** The audit writer of a service under test that no test reads the trail of: a CLI actor, an unkeyed seal. */
export const TEST_AUDIT = { context: { actor: { type: 'cli' as const, id: 'test' }, source: 'test' }, seal: createAuditSeal(undefined) }
