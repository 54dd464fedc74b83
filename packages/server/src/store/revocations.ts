/**
 * Token revocation: revoked jtis and the changes feed that offline verifiers follow
 * (docs/wire.md, the revocation feed).
 */
import type { Kysely, Transaction } from 'kysely'
import { atomically } from './atomically.js'
import type { DialectBinding } from './binding.js'
import { toRevocationEvent } from './rows.js'
import type { Database, RevocationEventsTable } from './schema.js'
import type { Store } from './store.js'

export type RevocationOperations = Pick<Store, 'revokeJti' | 'isJtiRevoked' | 'revocationsSince' | 'pruneRevocations'>

/**
 * Appends a feed event inside `trx`. The binding first serializes feed writers, so a reader whose
 * cursor passed seq N can never later find a seq below N committed (PostgreSQL hands out
 * sequence values before commit; without this, 7 could become visible before 6).
 */
export async function appendRevocationEvent(
  binding: DialectBinding,
  trx: Transaction<Database>,
  event: Omit<RevocationEventsTable, 'seq' | 'created_at'>,
): Promise<void> {
  await binding.serializeRevocationEvents(trx)
  await trx
    .insertInto('revocation_events')
    .values({ ...event, created_at: Date.now() })
    .execute()
  // Followers read the feed at once instead of at their next poll (Store.onChange).
  await binding.announceChange(trx, { kind: 'revocation' })
}

/** Over the database, or over a transaction opened by `Store.transaction` (see accounts.ts). */
export function revocationOperations(binding: DialectBinding, db: Kysely<Database> = binding.db): RevocationOperations {
  return {
    async revokeJti(jti, tokenExp, expiresAt) {
      await atomically(db, async (trx) => {
        const inserted = await trx
          .insertInto('revoked_tokens')
          .values({ jti, token_exp: tokenExp, expires_at: expiresAt })
          .onConflict((oc) => oc.column('jti').doNothing())
          .returning('jti')
          .executeTakeFirst()
        // Idempotent: a repeated revocation adds no second feed event.
        if (inserted) {
          await appendRevocationEvent(binding, trx, { kind: 'jti', subject: jti, at: tokenExp, expires_at: expiresAt })
        }
      })
    },

    async isJtiRevoked(jti) {
      const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()
      return row !== undefined
    },

    async revocationsSince(after, limit) {
      const rows = await db
        .selectFrom('revocation_events')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map(toRevocationEvent)
    },

    async pruneRevocations(now) {
      return atomically(db, async (trx) => {
        const tokens = await trx.deleteFrom('revoked_tokens').where('expires_at', '<', now).executeTakeFirst()
        const events = await trx.deleteFrom('revocation_events').where('expires_at', '<', now).executeTakeFirst()
        return Number(tokens.numDeletedRows + events.numDeletedRows)
      })
    },
  }
}
