/**
 * The one implementation of Store, shared by both dialects: the operations of accounts.ts,
 * signing-keys.ts, revocations.ts and audit.ts over a Kysely<Database>, plus the lifecycle.
 * What differs between SQLite and PostgreSQL comes in through the DialectBinding.
 */
import { Migrator } from 'kysely'
import { accountOperations } from './accounts.js'
import { auditOperations } from './audit.js'
import type { DialectBinding } from './binding.js'
import { revocationOperations } from './revocations.js'
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from './schema.js'
import { signingKeyOperations } from './signing-keys.js'
import type { Store } from './store.js'

export type { DialectBinding } from './binding.js'

export function createKyselyStore(binding: DialectBinding): Store {
  const { db } = binding
  let closed = false

  return {
    dialect: binding.dialect,

    async migrate() {
      const migrator = new Migrator({
        db,
        provider: binding.migrations,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      })
      // migrateToLatest reports failure in its result instead of throwing.
      const { error } = await migrator.migrateToLatest()
      if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`)
    },

    onChange: (listener) => binding.listenForChanges(listener),

    async ping() {
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
    },

    async close() {
      if (closed) return
      closed = true
      await binding.closeExtras()
      await db.destroy()
    },

    transaction(work) {
      return db.transaction().execute((trx) =>
        work({
          ...accountOperations(binding, trx),
          revokeJti: revocationOperations(binding, trx).revokeJti,
          appendAuditEvent: auditOperations(binding, trx).appendAuditEvent,
        }),
      )
    },

    ...accountOperations(binding),
    ...signingKeyOperations(binding),
    ...revocationOperations(binding),
    ...auditOperations(binding),
  }
}
