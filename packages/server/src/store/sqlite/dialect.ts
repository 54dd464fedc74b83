/**
 * The embedded SQLite dialect (better-sqlite3). One file, `<dataDir>/bizauth.sqlite`, which the
 * server and CLI processes may open at the same time.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely'
import type { AccountRow, Database } from '../schema.js'
import { ACCOUNT_COLUMNS } from '../schema.js'
import type { DialectBinding, StoreTimeouts } from '../binding.js'
import { StoreChangeListeners } from '../change-listeners.js'
import type { StoreChange, StoreChangeListener } from '../store.js'
import { sqliteMigrations } from './migrations.js'

export const SQLITE_FILE_NAME = 'bizauth.sqlite'

/**
 * SQLite's own busy wait (busy_timeout) sleeps inside the synchronous better-sqlite3 call, which
 * freezes the whole process: no request, not even /health/live, is answered while another
 * process holds the write lock. So SQLite never waits here; a busy write is retried from the
 * event loop (`retryWhileBusy`) until its deadline.
 */
const SQLITE_BUSY_WAIT_MILLISECONDS = 0
/** Backoff between attempts to take the write lock: doubles from the first to the last. */
const BUSY_RETRY_FIRST_DELAY_MS = 1
const BUSY_RETRY_MAX_DELAY_MS = 25

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY')
}

/**
 * Runs `attempt` until it does not fail with SQLITE_BUSY, sleeping between attempts, until
 * `deadline` (epoch ms); then the last busy error is thrown. Only for what SQLite did not start
 * when it answered busy: BEGIN IMMEDIATE, or one statement in autocommit mode.
 */
async function retryWhileBusy<T>(deadline: number, attempt: () => T): Promise<T> {
  for (let delay = BUSY_RETRY_FIRST_DELAY_MS; ; delay = Math.min(delay * 2, BUSY_RETRY_MAX_DELAY_MS)) {
    try {
      return attempt()
    } catch (error) {
      const left = deadline - Date.now()
      if (!isBusy(error) || left <= 0) throw error
      await sleep(Math.min(delay, left))
    }
  }
}

/** A lock of the writer connection with a deadline: the mutex wait counts against the write's deadline. */
class WriterMutex {
  #held = false
  readonly #waiters: Array<() => void> = []

  async lock(deadline: number): Promise<void> {
    if (!this.#held) {
      this.#held = true
      return
    }
    await new Promise<void>((resolve, reject) => {
      const grant = (): void => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(grant), 1)
        reject(Object.assign(new Error('database is locked: another write of this process held it until the deadline'), { code: 'SQLITE_BUSY' }))
      }, Math.max(0, deadline - Date.now()))
      this.#waiters.push(grant)
    })
  }

  unlock(): void {
    const next = this.#waiters.shift()
    if (next) next() // handed over: still held
    else this.#held = false
  }
}

/**
 * Prepared statements by SQL text, per connection, least recently used dropped past `max`.
 * Preparing is most of the cost of a short statement (and of an import's 1,000-row INSERT, which
 * every full batch repeats); SQLite re-prepares a cached statement by itself after a schema change.
 */
class StatementCache {
  readonly #statements = new Map<string, BetterSqlite3.Statement>()

  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly max = 64,
  ) {}

  get(sql: string): BetterSqlite3.Statement {
    let statement = this.#statements.get(sql)
    if (statement) {
      this.#statements.delete(sql)
    } else {
      statement = this.database.prepare(sql)
      if (this.#statements.size >= this.max) this.#statements.delete(this.#statements.keys().next().value!)
    }
    this.#statements.set(sql, statement)
    return statement
  }
}

function runStatement(statement: BetterSqlite3.Statement, parameters: readonly unknown[]): QueryResult<unknown> {
  if (statement.reader) return { rows: statement.all(parameters) }
  const { changes, lastInsertRowid } = statement.run(parameters)
  return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] }
}

/**
 * One Kysely connection. Outside a transaction, a read-only statement runs on the reader
 * connection (WAL: it answers while another process holds the write lock, and never queues
 * behind a write of ours that waits for it), and a write takes the writer for that one
 * statement, retrying while busy. Inside a transaction, everything runs on the writer, which the
 * transaction holds from BEGIN IMMEDIATE to COMMIT/ROLLBACK, and nothing is retried: the
 * transaction already has the lock.
 */
class SqliteSession implements DatabaseConnection {
  inTransaction = false
  constructor(private readonly driver: BizauthSqliteDriver) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return (await this.driver.execute(this, query)) as QueryResult<R>
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite store does not stream queries')
  }
}

/**
 * What this process commits, told to this process's subscribers (Store.onChange) once the commit
 * is done: a file has no channel to other processes, but the server that made a change (through
 * its admin API) applies it at once rather than at its next poll. One write transaction runs at a
 * time (the writer connection is held from BEGIN IMMEDIATE to COMMIT), so what is pending belongs
 * to the transaction in progress; a rollback forgets it.
 */
class LocalAnnouncements {
  readonly #listeners = new StoreChangeListeners()
  #pending: StoreChange[] = []

  announce(change: StoreChange): void {
    this.#pending.push(change)
  }

  committed(): void {
    const changes = this.#pending
    this.#pending = []
    if (changes.length === 0 || this.#listeners.size === 0) return
    // After the commit has returned to its caller's flow: a listener never runs inside it.
    queueMicrotask(() => {
      for (const change of changes) this.#listeners.emit(change)
    })
  }

  rolledBack(): void {
    this.#pending = []
  }

  listen(listener: StoreChangeListener): () => void {
    return this.#listeners.add(listener)
  }
}

/**
 * The driver behind both connections. Every transaction here writes, so it takes the write
 * lock up front (BEGIN IMMEDIATE): a deferred BEGIN that reads first and writes later fails at
 * once with SQLITE_BUSY when another process committed in between.
 */
class BizauthSqliteDriver implements Driver {
  readonly #writerLock = new WriterMutex()
  readonly #writerStatements: StatementCache
  readonly #readerStatements: StatementCache

  constructor(
    private readonly writer: BetterSqlite3.Database,
    private readonly reader: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
    private readonly announcements: LocalAnnouncements,
  ) {
    this.#writerStatements = new StatementCache(writer)
    this.#readerStatements = new StatementCache(reader)
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SqliteSession(this)
  }

  async execute(session: SqliteSession, query: CompiledQuery): Promise<QueryResult<unknown>> {
    const { sql, parameters } = query
    if (session.inTransaction) return runStatement(this.#writerStatements.get(sql), parameters)
    const deadline = Date.now() + this.busyTimeoutMs
    // Preparing reads the schema, which another process's migration may hold: retried too.
    const onReader = await retryWhileBusy(deadline, () => this.#readerStatements.get(sql))
    if (onReader.readonly) return retryWhileBusy(deadline, () => runStatement(onReader, parameters))
    await this.#writerLock.lock(deadline)
    try {
      const onWriter = await retryWhileBusy(deadline, () => this.#writerStatements.get(sql))
      return await retryWhileBusy(deadline, () => runStatement(onWriter, parameters))
    } finally {
      this.#writerLock.unlock()
    }
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as SqliteSession
    const deadline = Date.now() + this.busyTimeoutMs
    await this.#writerLock.lock(deadline)
    try {
      await retryWhileBusy(deadline, () => this.writer.exec('begin immediate'))
    } catch (error) {
      this.#writerLock.unlock()
      throw error
    }
    session.inTransaction = true
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    this.writer.exec('commit')
    this.#endTransaction(connection as SqliteSession)
    this.announcements.committed()
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const session = connection as SqliteSession
    if (!session.inTransaction) return
    try {
      // SQLite may have rolled back already (e.g. after SQLITE_FULL); then there is nothing to undo.
      if (this.writer.inTransaction) this.writer.exec('rollback')
    } finally {
      this.#endTransaction(session)
      this.announcements.rolledBack()
    }
  }

  // No savepoint methods: the store has no nested transactions, and Kysely refuses them without.

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // A transaction Kysely neither committed nor rolled back must not keep the lock for ever.
    await this.rollbackTransaction(connection)
  }

  async destroy(): Promise<void> {
    this.writer.close()
  }

  #endTransaction(session: SqliteSession): void {
    session.inTransaction = false
    this.#writerLock.unlock()
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
  readonly #driver: BizauthSqliteDriver
  constructor(driver: BizauthSqliteDriver, writer: BetterSqlite3.Database) {
    super({ database: writer })
    this.#driver = driver
  }
  override createDriver(): Driver {
    return this.#driver
  }
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter()
  }
}

/** Opening only: switching a fresh file to WAL takes a moment's exclusive lock that a second process opening it at once must wait for. */
const OPEN_BUSY_WAIT_MILLISECONDS = 5000

function openConnection(file: string): BetterSqlite3.Database {
  const connection = new BetterSqlite3(file)
  // SQLite's own (blocking) wait is allowed while opening, before the server serves anything.
  connection.pragma(`busy_timeout = ${OPEN_BUSY_WAIT_MILLISECONDS}`)
  connection.pragma('journal_mode = WAL')
  // FULL: a commit is on disk (WAL fsynced) before it returns, so nothing is lost on SIGKILL or power loss.
  connection.pragma('synchronous = FULL')
  connection.pragma('foreign_keys = ON')
  connection.pragma(`busy_timeout = ${SQLITE_BUSY_WAIT_MILLISECONDS}`)
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

export function createSqliteBinding(file: string, timeouts: StoreTimeouts): DialectBinding {
  const writer = openConnection(file)
  // A second connection for reads outside transactions: it sees only committed rows (never the
  // inside of a transaction the writer connection has open) and, in WAL mode, needs no lock.
  let reader: BetterSqlite3.Database
  try {
    reader = openConnection(file)
  } catch (error) {
    writer.close()
    throw error
  }
  let findAccount: BetterSqlite3.Statement<[string], AccountRow> | undefined
  const announcements = new LocalAnnouncements()

  return {
    dialect: 'sqlite',
    db: new Kysely<Database>({ dialect: new BizauthSqliteDialect(new BizauthSqliteDriver(writer, reader, timeouts.sqliteBusyTimeoutMs, announcements), writer) }),
    migrations: sqliteMigrations,
    async findAccountRow(id) {
      // Prepared on first use, not at open: before migrate() the table does not exist yet.
      findAccount ??= reader.prepare<[string], AccountRow>(
        `select ${ACCOUNT_COLUMNS.join(', ')} from accounts where id = ?`,
      )
      const statement = findAccount
      return retryWhileBusy(Date.now() + timeouts.sqliteBusyTimeoutMs, () => statement.get(id))
    },
    async serializeRevocationEvents() {
      // Nothing to do: BEGIN IMMEDIATE already makes writers take turns.
    },
    async serializeKeyChanges() {
      // Nothing to do: BEGIN IMMEDIATE already makes writers take turns.
    },
    // One file has no channel to other processes: they poll (the revocation follower each second,
    // the key ring each refresh) and the credential cache checks the row's version on each hit.
    // This process's own commits are told to its own subscribers (LocalAnnouncements).
    async announceChange(_trx, change) {
      announcements.announce(change)
    },
    listenForChanges: (listener) => announcements.listen(listener),
    isUniqueViolation(error) {
      const code = (error as { code?: unknown } | null)?.code
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
    },
    async closeExtras() {
      reader.close()
    },
  }
}
