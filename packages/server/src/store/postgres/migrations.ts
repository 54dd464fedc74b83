/** The PostgreSQL types of the one schema (../migrations.ts). */
import { schemaMigrations } from '../migrations.js'

export const postgresMigrations = schemaMigrations({
  epoch: 'bigint',
  // A sequence never goes back. Inserts are serialized by the store (an advisory lock, see
  // dialect.ts) so that seqs also become visible in order.
  sequence: { type: 'bigserial', constraints: (col) => col.primaryKey() },
})
