/**
 * What differs between SQLite and PostgreSQL, as the shared Kysely store needs it. Built by
 * `sqlite/dialect.ts` and `postgres/dialect.ts`; everything else is one code path.
 */
import type { Kysely, MigrationProvider, Transaction } from 'kysely'
import type { AccountRow, Database } from './schema.js'
import type { Store } from './store.js'

export type { StoreTimeouts } from '../config.js'

export interface DialectBinding {
  readonly dialect: Store['dialect']
  readonly db: Kysely<Database>
  readonly migrations: MigrationProvider
  /** One indexed read of one account row, without per-call query building (the token hot path). */
  findAccountRow(id: string): Promise<AccountRow | undefined>
  /** Called inside a transaction before it inserts a revocation event, so seqs become visible in order. */
  serializeRevocationEvents(trx: Transaction<Database>): Promise<void>
  isUniqueViolation(error: unknown): boolean
  /** Releases what the binding holds besides `db` (e.g. a second SQLite connection). */
  closeExtras(): Promise<void>
}
