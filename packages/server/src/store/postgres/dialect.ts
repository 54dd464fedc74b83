/**
 * The PostgreSQL dialect (pg Pool), for several instances sharing one database.
 */
import pg from 'pg'
import { Kysely, PostgresDialect, sql } from 'kysely'
import type { AccountRow, Database } from '../schema.js'
import { ACCOUNT_COLUMNS } from '../schema.js'
import type { DialectBinding } from '../binding.js'
import { postgresMigrations } from './migrations.js'

export const DEFAULT_POSTGRES_POOL_SIZE = 10

const INT8_OID = 20
const UNIQUE_VIOLATION = '23505'

/**
 * Key of the transaction-scoped advisory lock that serializes revocation-event inserts
 * (an arbitrary constant: "bizauth" feed). Without it, seq 7 could commit before seq 6, and a
 * verifier that read 7 would move its cursor past 6 for ever.
 */
const REVOCATION_FEED_LOCK_KEY = 0x62a2_feed

/**
 * int8 (bigint, bigserial, count(*)) as a JS number instead of a string. Our int8 values are
 * epoch instants and sequence numbers, far below 2^53. Set on this pool only, not through the
 * process-wide pg.types, so other pg users in the process are unaffected.
 */
const numericInt8Types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as pg.CustomTypesConfig['getTypeParser'],
}

export function createPostgresBinding(databaseUrl: string, poolSize = DEFAULT_POSTGRES_POOL_SIZE): DialectBinding {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize, types: numericInt8Types })
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would kill
  // the process. The pool drops the client, the next query reconnects, and ping() reports it.
  pool.on('error', () => {})

  const findAccountQuery = {
    // Named: pg prepares it once per connection and reuses the plan on every later call.
    name: 'bizauth_find_account',
    text: `select ${ACCOUNT_COLUMNS.join(', ')} from accounts where id = $1`,
  }

  return {
    dialect: 'postgres',
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    migrations: postgresMigrations,
    async findAccountRow(id) {
      const result = await pool.query<AccountRow>({ ...findAccountQuery, values: [id] })
      return result.rows[0]
    },
    async serializeRevocationEvents(trx) {
      await sql`select pg_advisory_xact_lock(${sql.lit(REVOCATION_FEED_LOCK_KEY)})`.execute(trx)
    },
    isUniqueViolation(error) {
      return (error as { code?: unknown } | null)?.code === UNIQUE_VIOLATION
    },
    async closeExtras() {
      // The pool is ended by Kysely's destroy().
    },
  }
}
