/**
 * The PostgreSQL dialect (pg Pool), for several instances sharing one database.
 */
import pg from 'pg'
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely'
import type { AccountRow, Database } from '../schema.js'
import { ACCOUNT_COLUMNS } from '../schema.js'
import type { DialectBinding, StoreTimeouts } from '../binding.js'
import { postgresMigrations } from './migrations.js'
import { CHANGE_CHANNEL, PostgresChangeListener } from './change-listener.js'

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
 * Key of the transaction-scoped advisory lock every signing-key change takes first, so "if no
 * next key, add one" cannot interleave with another instance's insert or promotion (issue 9 §5).
 */
const KEY_CHANGES_LOCK_KEY = 0x62a2_4e55

/**
 * The client-side query_timeout fires this long after the server's statement_timeout, so a
 * statement the server cancels fails with the server's error (and keeps its connection) rather
 * than racing the client's timer, which discards the connection.
 */
const CLIENT_TIMEOUT_MARGIN_MS = 250

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

/**
 * Whether a client that saw `error` can still be trusted with another query. An error the server
 * sent (a SQLSTATE: unique violation, statement_timeout's 57014) leaves the connection in sync.
 * Anything else (the client-side query_timeout, a reset, "Connection terminated") may leave a
 * query in flight whose answer would be read as the next query's: the client must be discarded.
 */
function leavesConnectionUsable(error: unknown): boolean {
  return error instanceof pg.DatabaseError
}

/**
 * The pool as Kysely sees it. Kysely's driver releases a client with a plain `release()` even
 * after its query failed, which would put a client still waiting for a lost answer back in the
 * pool and wedge every later query on it. This wrapper remembers a client's unusable error and
 * releases it with that error, so pg-pool destroys it and connects a fresh one when needed.
 */
function discardingBrokenClients(pool: pg.Pool): PostgresPool {
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let broken: Error | undefined
    // While checked out, a connection dying between queries emits 'error' on the client; unheard,
    // that would crash the process.
    const onError = (error: Error): void => {
      broken ??= error
    }
    client.on('error', onError)
    return {
      query: ((...args: [string, readonly unknown[]]) => {
        const result = client.query(...(args as [string, unknown[]])) as unknown
        if (result instanceof Promise) {
          result.catch((error: unknown) => {
            if (!leavesConnectionUsable(error)) broken ??= error as Error
          })
        }
        return result
      }) as PostgresPoolClient['query'],
      release() {
        client.off('error', onError)
        client.release(broken)
      },
    }
  }
  return {
    // A new wrapper per checkout: what it remembers is about this lease only.
    connect: async () => wrap(await pool.connect()),
    end: () => pool.end(),
  }
}

export function createPostgresBinding(databaseUrl: string, timeouts: StoreTimeouts, poolSize = DEFAULT_POSTGRES_POOL_SIZE): DialectBinding {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    types: numericInt8Types,
    // Bounds both the wait for a free pooled client and the connect of a new one: a blackholed
    // network fails here instead of queueing requests for ever.
    connectionTimeoutMillis: timeouts.databaseConnectTimeoutMs,
    // The server cancels a long statement (lock waits included) and the connection stays usable;
    // the client-side timeout, a little later, catches what the server cannot: a stalled network.
    statement_timeout: timeouts.databaseStatementTimeoutMs,
    query_timeout: timeouts.databaseStatementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    keepAlive: timeouts.databaseKeepaliveMs > 0,
    keepAliveInitialDelayMillis: timeouts.databaseKeepaliveMs,
  })
  // An idle client losing its connection emits 'error' on the pool; unhandled, that would kill
  // the process. The pool drops the client, the next query reconnects, and ping() reports it.
  pool.on('error', () => {})

  const findAccountQuery = {
    // Named: pg prepares it once per connection and reuses the plan on every later call.
    name: 'bizauth_find_account',
    text: `select ${ACCOUNT_COLUMNS.join(', ')} from accounts where id = $1`,
  }

  // Opened by the first Store.onChange subscriber (`serve`), never by a CLI command that only writes.
  const changeListener = new PostgresChangeListener(databaseUrl, timeouts)

  return {
    dialect: 'postgres',
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: discardingBrokenClients(pool) }) }),
    migrations: postgresMigrations,
    async findAccountRow(id) {
      // pool.query releases its client with the query's error, so pg-pool destroys a client
      // that timed out or lost its connection (node_modules/pg-pool, Pool.query).
      const result = await pool.query<AccountRow>({ ...findAccountQuery, values: [id] })
      return result.rows[0]
    },
    async serializeRevocationEvents(trx) {
      await sql`select pg_advisory_xact_lock(${sql.lit(REVOCATION_FEED_LOCK_KEY)})`.execute(trx)
    },
    async serializeKeyChanges(trx) {
      await sql`select pg_advisory_xact_lock(${sql.lit(KEY_CHANGES_LOCK_KEY)})`.execute(trx)
    },
    isUniqueViolation(error) {
      return (error as { code?: unknown } | null)?.code === UNIQUE_VIOLATION
    },
    async announceChange(trx, change) {
      // NOTIFY inside the transaction: PostgreSQL delivers it at commit, to every listener, and
      // drops it on rollback. The payload names what changed, never a value (no hash, no key).
      await sql`select pg_notify(${CHANGE_CHANNEL}, ${JSON.stringify(change)})`.execute(trx)
    },
    listenForChanges: (listener) => changeListener.subscribe(listener),
    async closeExtras() {
      // The pool is ended by Kysely's destroy().
      await changeListener.close()
    },
  }
}
