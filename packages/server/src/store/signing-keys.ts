/**
 * Signing keys and their lifecycle next -> current -> retired. The partial unique indexes
 * `signing_keys_one_current` and `signing_keys_one_next` (0006) guarantee at most one key in
 * each state whatever the instances do; every change runs in a transaction that first takes
 * the key-change lock (`serializeKeyChanges`), so check-then-write decisions do not interleave,
 * and announces `{kind: 'keys'}` (Store.onChange) so every key ring reloads at once.
 */
import type { Transaction } from 'kysely'
import { auditOperations } from './audit.js'
import type { DialectBinding } from './binding.js'
import { toSigningKey } from './rows.js'
import type { Database } from './schema.js'
import type { KeyChangeRecorder, SigningKeyRecord, Store } from './store.js'

export type SigningKeyOperations = Pick<Store, 'listKeys' | 'insertKey' | 'insertNextKey' | 'promoteKey' | 'removeRetiredKeys'>

/** Thrown inside the promotion transaction to roll back the retirement when nothing was promoted. */
class NothingToPromote extends Error {}

export function signingKeyOperations(binding: DialectBinding): SigningKeyOperations {
  const { db } = binding
  /** What a recorder may do inside the key change's transaction. */
  const recorderTx = (trx: Transaction<Database>) => ({ appendAuditEvent: auditOperations(binding, trx).appendAuditEvent })
  /** One key change: serialised with the others, announced if it commits. */
  const keyChange = <T>(work: (trx: Transaction<Database>) => Promise<T>, changed: (result: T) => boolean = () => true): Promise<T> =>
    db.transaction().execute(async (trx) => {
      await binding.serializeKeyChanges(trx)
      const result = await work(trx)
      if (changed(result)) await binding.announceChange(trx, { kind: 'keys' })
      return result
    })
  const insertRow = (trx: Transaction<Database>, key: SigningKeyRecord) =>
    trx
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
  return {
    async listKeys() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
      return rows.map(toSigningKey)
    },

    async insertKey(key: SigningKeyRecord, record?: KeyChangeRecorder) {
      await keyChange(async (trx) => {
        await insertRow(trx, key)
        await record?.(recorderTx(trx))
      })
    },

    insertNextKey(key, options = {}) {
      return keyChange(
        async (trx) => {
          // Read under the key-change lock: no other instance can add or promote between this
          // read and the insert, so the decision "nothing waits, add one" holds when it is written.
          const rows = await trx.selectFrom('signing_keys').selectAll().where('state', 'in', ['next', 'current']).execute()
          const waiting = rows.find((row) => row.state === 'next')
          if (waiting) return { key: toSigningKey(waiting), created: false }
          const current = rows.find((row) => row.state === 'current')
          if (options.replacingCurrent !== undefined && current?.kid !== options.replacingCurrent) return undefined
          await insertRow(trx, { ...key, state: 'next' })
          await options.record?.(recorderTx(trx))
          return { key: { ...key, state: 'next' as const }, created: true }
        },
        (result) => result?.created === true,
      )
    },

    async promoteKey(kid, now, record) {
      const at = now.getTime()
      try {
        await keyChange(async (trx) => {
          // Compare-and-set, decided under the key-change lock before anything moves: only a key
          // still waiting as next may become current. A ring that read an older list (the key
          // promoted meanwhile, and perhaps another one rotated in) changes nothing.
          const waiting = await trx.selectFrom('signing_keys').select('kid').where('kid', '=', kid).where('state', '=', 'next').executeTakeFirst()
          if (!waiting) throw new NothingToPromote()
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
        // The backstop of the lock: a writer that does not take it (an older release during a
        // rolling upgrade) promoted another key at the same moment, and the index refused ours.
        if (binding.isUniqueViolation(error)) return false
        throw error
      }
    },

    async removeRetiredKeys(retiredBefore, record) {
      return keyChange(async (trx) => {
        const removed = await trx
          .deleteFrom('signing_keys')
          .where('state', '=', 'retired')
          .where('retired_at', '<', retiredBefore.getTime())
          .returning('kid')
          .execute()
        if (removed.length > 0) await record?.(recorderTx(trx), { removed: removed.map((row) => row.kid) })
        return removed.length
      }, (count) => count > 0)
    },
  }
}
