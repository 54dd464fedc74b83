/**
 * What differs between SQLite and PostgreSQL, as the shared Kysely store needs it. Built by
 * `sqlite/dialect.ts` and `postgres/dialect.ts`; everything else is one code path.
 */
import type { Kysely, MigrationProvider, Transaction } from 'kysely'
import type { AccountRow, Database } from './schema.js'
import type { Store, StoreChange, StoreChangeListener } from './store.js'

export type { StoreTimeouts } from '../config.js'

export interface DialectBinding {
  readonly dialect: Store['dialect']
  readonly db: Kysely<Database>
  readonly migrations: MigrationProvider
  /** One indexed read of one account row, without per-call query building (the token hot path). */
  findAccountRow(id: string): Promise<AccountRow | undefined>
  /** Called inside a transaction before it inserts a revocation event, so seqs become visible in order. */
  serializeRevocationEvents(trx: Transaction<Database>): Promise<void>
  /** Called inside a key change's transaction first, so "if no next key, add one" and promotions take turns. */
  serializeKeyChanges(trx: Transaction<Database>): Promise<void>
  isUniqueViolation(error: unknown): boolean
  /** Sends `change` inside `trx`, so it is delivered if and only if the transaction commits. */
  announceChange(trx: Transaction<Database>, change: StoreChange): Promise<void>
  /** Store.onChange. */
  listenForChanges(listener: StoreChangeListener): () => void
  /** Releases what the binding holds besides `db` (e.g. a second SQLite connection). */
  closeExtras(): Promise<void>
}
