import type { Kysely, Transaction } from 'kysely'
import type { DialectBinding } from './binding.js'
import type { Database } from './schema.js'
import type { StoreChange } from './store.js'

/**
 * Runs `work` in the caller's transaction when `db` is one (Store.transaction), or in a new one:
 * Kysely cannot nest transactions, and a change made inside Store.transaction must commit with it.
 */
export function atomically<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work)
}

/**
 * Runs the write `work` and announces the change `changeOf` derives from its result (none when
 * it returns undefined: nothing was written) in the same transaction, so the announcement is
 * delivered only if the write commits.
 */
export function announcing<T>(
  binding: DialectBinding,
  db: Kysely<Database>,
  changeOf: (result: T) => StoreChange | undefined,
  work: (on: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return atomically(db, async (trx) => {
    const result = await work(trx)
    const change = changeOf(result)
    if (change) await binding.announceChange(trx, change)
    return result
  })
}
