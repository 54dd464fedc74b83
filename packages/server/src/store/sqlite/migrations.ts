/** The SQLite types of the one schema (../migrations.ts). */
import { schemaMigrations } from '../migrations.js'

export const sqliteMigrations = schemaMigrations({
  epoch: 'integer',
  // AUTOINCREMENT: without it SQLite reuses the highest rowid once that row is deleted.
  sequence: { type: 'integer', constraints: (col) => col.primaryKey().autoIncrement() },
})
