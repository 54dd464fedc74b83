/**
 * The embedded SQLite dialect (better-sqlite3). One file, `<dataDir>/bizauth.sqlite`, which the
 * server and CLI processes may open at the same time.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type SqliteDialectConfig,
} from 'kysely'
import type { AccountRow, Database } from '../schema.js'
import { ACCOUNT_COLUMNS } from '../schema.js'
import type { DialectBinding } from '../binding.js'
import { sqliteMigrations } from './migrations.js'

export const SQLITE_FILE_NAME = 'bizauth.sqlite'

/** How long a writer waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MILLISECONDS = 5000

/**
 * Every transaction here writes, so it takes the write lock up front (BEGIN IMMEDIATE). A
 * deferred BEGIN that reads first and writes later fails at once with SQLITE_BUSY when another
 * process committed in between, without waiting for busy_timeout.
 */
class ImmediateTransactionSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'))
  }
}

/**
 * SQLite does run DDL inside transactions. Saying so makes Kysely's Migrator run the whole
 * migration in one (immediate) transaction, which serializes processes that start at once:
 * the second one waits, then finds the migrations already applied.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

class BizauthSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig
  constructor(config: SqliteDialectConfig) {
    super(config)
    this.#config = config
  }
  override createDriver(): SqliteDriver {
    return new ImmediateTransactionSqliteDriver(this.#config)
  }
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter()
  }
}

function openConnection(file: string): BetterSqlite3.Database {
  const connection = new BetterSqlite3(file)
  connection.pragma(`busy_timeout = ${BUSY_TIMEOUT_MILLISECONDS}`)
  connection.pragma('journal_mode = WAL')
  // FULL: a commit is on disk (WAL fsynced) before it returns, so nothing is lost on SIGKILL or power loss.
  connection.pragma('synchronous = FULL')
  connection.pragma('foreign_keys = ON')
  return connection
}

/**
 * Creates the data directory (0700) and the database file (0600) if they are missing, before
 * SQLite opens it; the -wal and -shm files SQLite creates take the database file's mode.
 * Existing directories and files keep the permissions their owner gave them.
 */
export function prepareSqliteFile(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const file = join(dataDir, SQLITE_FILE_NAME)
  closeSync(openSync(file, 'a', 0o600))
  return file
}

export function createSqliteBinding(file: string): DialectBinding {
  const writer = openConnection(file)
  // A second connection for the hot-path read: it sees only committed rows (never the inside
  // of a transaction the writer connection has open) and reuses one prepared statement.
  let reader: BetterSqlite3.Database
  try {
    reader = openConnection(file)
  } catch (error) {
    writer.close()
    throw error
  }
  let findAccount: BetterSqlite3.Statement<[string], AccountRow> | undefined

  return {
    dialect: 'sqlite',
    db: new Kysely<Database>({ dialect: new BizauthSqliteDialect({ database: writer }) }),
    migrations: sqliteMigrations,
    async findAccountRow(id) {
      // Prepared on first use, not at open: before migrate() the table does not exist yet.
      findAccount ??= reader.prepare<[string], AccountRow>(
        `select ${ACCOUNT_COLUMNS.join(', ')} from accounts where id = ?`,
      )
      return findAccount.get(id)
    },
    async serializeRevocationEvents() {
      // Nothing to do: BEGIN IMMEDIATE already makes writers take turns.
    },
    isUniqueViolation(error) {
      const code = (error as { code?: unknown } | null)?.code
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
    },
    async closeExtras() {
      reader.close()
    },
  }
}
