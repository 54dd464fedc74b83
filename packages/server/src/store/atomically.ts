import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.js'

/**
 * Runs `work` in the caller's transaction when `db` is one (Store.transaction), or in a new one:
 * Kysely cannot nest transactions, and a change made inside Store.transaction must commit with it.
 */
export function atomically<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work)
}
