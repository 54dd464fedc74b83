/**
 * Signing keys and their lifecycle next -> current -> retired. The partial unique index
 * `signing_keys_one_current` guarantees at most one current key whatever the instances do.
 */
import type { Transaction } from 'kysely'
import { auditOperations } from './audit.js'
import type { DialectBinding } from './binding.js'
import { toSigningKey } from './rows.js'
import type { Database } from './schema.js'
import type { KeyChangeRecorder, SigningKeyRecord, Store } from './store.js'

export type SigningKeyOperations = Pick<Store, 'listKeys' | 'insertKey' | 'promoteKey' | 'removeRetiredKeys'>

/** Thrown inside the promotion transaction to roll back the retirement when nothing was promoted. */
class NothingToPromote extends Error {}

export function signingKeyOperations(binding: DialectBinding): SigningKeyOperations {
  const { db } = binding
  /** What a recorder may do inside the key change's transaction. */
  const recorderTx = (trx: Transaction<Database>) => ({ appendAuditEvent: auditOperations(binding, trx).appendAuditEvent })
  return {
    async listKeys() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
      return rows.map(toSigningKey)
    },

    async insertKey(key: SigningKeyRecord, record?: KeyChangeRecorder) {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('signing_keys')
          .values({
            kid: key.kid,
            alg: key.alg,
            state: key.state,
            private_material: key.privateMaterial,
            public_jwk: key.publicJwk,
            created_at: key.createdAt.getTime(),
            activated_at: key.activatedAt?.getTime() ?? null,
            retired_at: key.retiredAt?.getTime() ?? null,
          })
          .execute()
        await record?.(recorderTx(trx))
      })
    },

    async promoteKey(kid, now, record) {
      const at = now.getTime()
      try {
        await db.transaction().execute(async (trx) => {
          // Retire first: the partial unique index forbids two current keys even mid-transaction.
          const retired = await trx
            .updateTable('signing_keys')
            .set({ state: 'retired', retired_at: at })
            .where('state', '=', 'current')
            .where('kid', '<>', kid)
            .returning('kid')
            .execute()
          const promoted = await trx
            .updateTable('signing_keys')
            .set({ state: 'current', activated_at: at })
            .where('kid', '=', kid)
            .where('state', '=', 'next')
            .executeTakeFirst()
          if (promoted.numUpdatedRows === 0n) throw new NothingToPromote()
          await record?.(recorderTx(trx), { retired: retired.map((row) => row.kid) })
        })
        return true
      } catch (error) {
        if (error instanceof NothingToPromote) return false
        // PostgreSQL: another instance promoted a different key at the same moment. Its key is
        // current now (invisible to our first UPDATE's snapshot), and the index refused ours.
        if (binding.isUniqueViolation(error)) return false
        throw error
      }
    },

    async removeRetiredKeys(retiredBefore, record) {
      return db.transaction().execute(async (trx) => {
        const removed = await trx
          .deleteFrom('signing_keys')
          .where('state', '=', 'retired')
          .where('retired_at', '<', retiredBefore.getTime())
          .returning('kid')
          .execute()
        if (removed.length > 0) await record?.(recorderTx(trx), { removed: removed.map((row) => row.kid) })
        return removed.length
      })
    },
  }
}
