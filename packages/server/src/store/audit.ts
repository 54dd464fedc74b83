/**
 * The audit trail's rows (issue 11 §1): `audit_events`, and `audit_chain`, one row holding the
 * head (the last appended event) and the checkpoint (the last pruned one).
 *
 * Every append takes the head row first and holds it until commit: on PostgreSQL with
 * `FOR UPDATE`, on SQLite through BEGIN IMMEDIATE, which already makes writers take turns. The
 * next seq and `prev_hash` come from that row, so two writers can never both build on one head
 * (a fork) nor skip a number (a gap), whichever instance or CLI they run in.
 */
import type { Kysely, Transaction } from 'kysely'
import { sealedText } from './audit-chain.js'
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX } from './audit-listing.js'
import { atomically } from './atomically.js'
import type { DialectBinding } from './binding.js'
import { toAuditEvent } from './rows.js'
import type { AuditEventsTable, Database } from './schema.js'
import { AuditSealMismatchError, type AuditChainState, type AuditSeal, type Store } from './store.js'

export type AuditOperations = Pick<Store, 'appendAuditEvent' | 'listAuditEvents' | 'auditChainState' | 'pruneAuditEvents'>

/** The one row of `audit_chain`. */
const CHAIN_ROW = 1

/** Refuses to build on a head the writer's seal does not reproduce (AuditSealMismatchError). */
async function checkHeadSeal(trx: Transaction<Database>, headSeq: number, seal: AuditSeal): Promise<void> {
  if (headSeq === 0) return
  const head = await trx.selectFrom('audit_events').selectAll().where('seq', '=', headSeq).executeTakeFirst()
  // A missing head is left to `audit verify` to name; appending after it keeps the evidence.
  if (head && seal.hash(sealedText(toAuditEvent(head))) !== head.hash) throw new AuditSealMismatchError(headSeq)
}

export function auditOperations(binding: DialectBinding, db: Kysely<Database> = binding.db): AuditOperations {
  /** The chain's row, held until commit (see above). */
  async function lockChain(trx: Transaction<Database>) {
    const query = trx.selectFrom('audit_chain').selectAll().where('id', '=', CHAIN_ROW)
    return (binding.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirstOrThrow()
  }

  return {
    async appendAuditEvent(event, seal, now = new Date()) {
      return atomically(db, async (trx) => {
        const chain = await lockChain(trx)
        await checkHeadSeal(trx, Number(chain.head_seq), seal)
        const unsealed = {
          seq: Number(chain.head_seq) + 1,
          time: now.toISOString(),
          actor: { type: event.actor.type, id: event.actor.id },
          source: event.source,
          action: event.action,
          target: event.target,
          changes: event.changes,
          prev_hash: chain.head_hash,
        }
        const sealed = { ...unsealed, hash: seal.hash(sealedText(unsealed)) }
        const row: AuditEventsTable = {
          seq: sealed.seq,
          time: now.getTime(),
          actor_type: sealed.actor.type,
          actor_id: sealed.actor.id,
          source: sealed.source,
          action: sealed.action,
          target: sealed.target,
          changes: JSON.stringify(sealed.changes),
          prev_hash: sealed.prev_hash,
          hash: sealed.hash,
        }
        await trx.insertInto('audit_events').values(row).execute()
        await trx.updateTable('audit_chain').set({ head_seq: sealed.seq, head_hash: sealed.hash }).where('id', '=', CHAIN_ROW).execute()
        return toAuditEvent(row)
      })
    },

    async listAuditEvents(query = {}) {
      const limit = Math.max(1, Math.min(query.limit ?? AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX))
      let select = db.selectFrom('audit_events').selectAll().orderBy('seq').limit(limit + 1)
      if (query.after !== undefined) select = select.where('seq', '>', query.after)
      if (query.account !== undefined) select = select.where('target', '=', query.account)
      if (query.action !== undefined) select = select.where('action', '=', query.action)
      if (query.since !== undefined) select = select.where('time', '>=', query.since.getTime())
      if (query.until !== undefined) select = select.where('time', '<', query.until.getTime())
      const rows = await select.execute()
      const events = rows.slice(0, limit).map(toAuditEvent)
      return { events, next: rows.length > limit ? events[events.length - 1]!.seq : undefined }
    },

    async auditChainState(): Promise<AuditChainState> {
      const row = await db.selectFrom('audit_chain').selectAll().where('id', '=', CHAIN_ROW).executeTakeFirstOrThrow()
      return {
        headSeq: Number(row.head_seq),
        headHash: row.head_hash,
        checkpointSeq: Number(row.checkpoint_seq),
        checkpointHash: row.checkpoint_hash,
      }
    },

    async pruneAuditEvents(before) {
      return atomically(db, async (trx) => {
        await lockChain(trx)
        const last = await trx
          .selectFrom('audit_events')
          .select(['seq', 'hash'])
          .where('time', '<', before.getTime())
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst()
        if (!last) return 0
        // Everything up to the last old event goes, so the kept part stays one unbroken chain
        // (an event appended with an earlier clock than its predecessor is pruned with it).
        const deleted = await trx.deleteFrom('audit_events').where('seq', '<=', last.seq).executeTakeFirst()
        await trx.updateTable('audit_chain').set({ checkpoint_seq: last.seq, checkpoint_hash: last.hash }).where('id', '=', CHAIN_ROW).execute()
        return Number(deleted.numDeletedRows)
      })
    },
  }
}
