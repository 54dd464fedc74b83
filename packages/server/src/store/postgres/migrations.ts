/**
 * PostgreSQL schema, as in-code migrations (no files to ship or find at run time).
 * A migration is never edited once released; a change is a new entry.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely'

const initialSchema: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('password_hash', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'suspended')`))
      .addColumn('allowed_ips', 'text', (col) => col.notNull().defaultTo('[]'))
      .addColumn('roles', 'text', (col) => col.notNull().defaultTo('[]'))
      .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
      .addColumn('tokens_valid_after', 'bigint', (col) => col.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('updated_at', 'bigint', (col) => col.notNull())
      .execute()

    await db.schema
      .createTable('signing_keys')
      .addColumn('kid', 'text', (col) => col.primaryKey())
      .addColumn('alg', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('next', 'current', 'retired')`))
      .addColumn('private_material', 'text', (col) => col.notNull())
      .addColumn('public_jwk', 'text')
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .addColumn('activated_at', 'bigint')
      .addColumn('retired_at', 'bigint')
      .execute()
    // At most one current key, enforced by the database rather than by every instance's good manners.
    await db.schema
      .createIndex('signing_keys_one_current')
      .on('signing_keys')
      .column('state')
      .unique()
      .where(sql.ref('state'), '=', 'current')
      .execute()

    await db.schema
      .createTable('revoked_tokens')
      .addColumn('jti', 'text', (col) => col.primaryKey())
      .addColumn('token_exp', 'bigint', (col) => col.notNull())
      .addColumn('expires_at', 'bigint', (col) => col.notNull())
      .execute()
    await db.schema.createIndex('revoked_tokens_expires_at').on('revoked_tokens').column('expires_at').execute()

    // bigserial: a seq is never reused, even after pruning deletes the newest rows, so a
    // verifier's cursor can never point past a future event. Inserts are serialized by the
    // store (an advisory lock) so that seqs also become visible in order.
    await db.schema
      .createTable('revocation_events')
      .addColumn('seq', 'bigserial', (col) => col.primaryKey())
      .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('jti', 'account')`))
      .addColumn('subject', 'text', (col) => col.notNull())
      .addColumn('at', 'bigint', (col) => col.notNull())
      .addColumn('expires_at', 'bigint', (col) => col.notNull())
      .addColumn('created_at', 'bigint', (col) => col.notNull())
      .execute()
    await db.schema.createIndex('revocation_events_expires_at').on('revocation_events').column('expires_at').execute()

    await db.schema
      .createTable('settings')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('value', 'text', (col) => col.notNull())
      .execute()
  },
}

const migrations: Record<string, Migration> = {
  '0001_initial_schema': initialSchema,
}

export const postgresMigrations: MigrationProvider = {
  getMigrations: async () => migrations,
}
