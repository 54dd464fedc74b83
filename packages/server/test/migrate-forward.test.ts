/**
 * Databases made by the previous release migrate forward. Each dialect starts from a dump the
 * previous release's own CLI produced (test/fixtures/release-0001.*.sql, whose headers say
 * how), loaded into a fresh database: nothing here recreates the old schema from today's code.
 *
 * It also proves that the one schema definition (src/store/migrations.ts) builds what the two
 * per-dialect copies it replaced built: the same 0001, and the same schema after every migration.
 */
import { describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { Migrator } from 'kysely'
import pg from 'pg'
import type { DialectBinding } from '../src/store/binding.js'
import { DEFAULTS } from '../src/config.js'
import { openStore, type OpenStoreOptions } from '../src/store/open.js'
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from '../src/store/schema.js'
import { createPostgresBinding } from '../src/store/postgres/dialect.js'
import { createSqliteBinding, prepareSqliteFile, SQLITE_FILE_NAME } from '../src/store/sqlite/dialect.js'
import { answerCode, basic, startTestApp } from './helpers/app.js'
import { postgresSkipReason, withPostgresDatabase } from './helpers/postgres.js'
import { useTempDir } from './helpers/tmp.js'

const FIXTURES = new URL('../../test/fixtures/', import.meta.url)
const RELEASED_MIGRATION = '0001_initial_schema'
const MIGRATIONS_SINCE = ['0002_drop_settings_add_lockout_generation', '0003_audit_trail', '0005_previous_password', '0006_one_next_key']
/** The argon2id parameters the fixture's hashes carry, so the server does not re-hash them in the background. */
const FIXTURE_ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
const FIXTURE_PASSWORD = 'old-release-password'

type Row = Record<string, unknown>

/** The tables whose rows must survive, each with the column that orders its rows. */
const DATA_TABLES = {
  accounts: 'id',
  signing_keys: 'kid',
  revoked_tokens: 'jti',
  revocation_events: 'seq',
  [MIGRATION_TABLE]: 'name',
} as const

interface DialectUnderTest {
  readonly name: 'sqlite' | 'postgres'
  readonly skip: string | undefined
  /** A fresh, empty database (removed when the test ends). */
  createDatabase(t: TestContext): Promise<OpenStoreOptions>
  /** Runs a dump's SQL against the database, on a connection of its own. */
  load(options: OpenStoreOptions, dump: string): Promise<void>
  /** The names of its tables, sorted. */
  tables(options: OpenStoreOptions): Promise<string[]>
  /** The schema as the database reports it, in a form deepEqual can compare. */
  describeSchema(options: OpenStoreOptions): Promise<unknown>
  /** Every row of a table, ordered by `orderBy`, exactly as the driver returns it. */
  rows(options: OpenStoreOptions, table: string, orderBy: string): Promise<Row[]>
  binding(options: OpenStoreOptions): DialectBinding
}

function sqliteFile(options: OpenStoreOptions): string {
  return join(options.dataDir!, SQLITE_FILE_NAME)
}

function withSqlite<T>(options: OpenStoreOptions, use: (db: BetterSqlite3.Database) => T): T {
  const db = new BetterSqlite3(sqliteFile(options))
  try {
    return use(db)
  } finally {
    db.close()
  }
}

async function withPostgres<T>(options: OpenStoreOptions, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: options.databaseUrl })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

const dialects: DialectUnderTest[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async createDatabase(t) {
      const dataDir = join(await useTempDir(t), 'data')
      prepareSqliteFile(dataDir)
      return { dataDir }
    },
    async load(options, dump) {
      withSqlite(options, (db) => db.exec(dump))
    },
    async tables(options) {
      return withSqlite(options, (db) =>
        db.prepare(`select name from sqlite_master where type = 'table' order by name`).pluck().all() as string[],
      )
    },
    async describeSchema(options) {
      return withSqlite(options, (db) =>
        db.prepare('select type, name, tbl_name, sql from sqlite_master order by type, name').all(),
      )
    },
    async rows(options, table, orderBy) {
      return withSqlite(options, (db) => db.prepare(`select * from "${table}" order by "${orderBy}"`).all() as Row[])
    },
    binding: (options) => createSqliteBinding(sqliteFile(options), DEFAULTS),
  },
  {
    name: 'postgres',
    skip: await postgresSkipReason(),
    async createDatabase(t) {
      const database = await withPostgresDatabase()
      t.after(() => database.drop())
      return { databaseUrl: database.url, postgresPoolSize: 2 }
    },
    async load(options, dump) {
      // Its own connection: the dump empties search_path for the session it runs in.
      await withPostgres(options, (client) => client.query(dump))
    },
    async tables(options) {
      return withPostgres(options, async (client) =>
        (await client.query(`select table_name from information_schema.tables where table_schema = 'public' order by table_name`)).rows.map(
          (row: { table_name: string }) => row.table_name,
        ),
      )
    },
    async describeSchema(options) {
      return withPostgres(options, async (client) => {
        const query = async (text: string) => (await client.query(text)).rows
        return {
          columns: await query(`
            select table_name, column_name, ordinal_position, data_type, character_maximum_length,
                   is_nullable, column_default
              from information_schema.columns where table_schema = 'public'
             order by table_name, ordinal_position`),
          constraints: await query(`
            select conrelid::regclass::text as table_name, conname, contype, pg_get_constraintdef(oid) as definition
              from pg_constraint where connamespace = 'public'::regnamespace
             order by table_name, conname`),
          indexes: await query(`
            select tablename, indexname, indexdef from pg_indexes where schemaname = 'public'
             order by tablename, indexname`),
          sequences: await query(`
            select sequence_name, data_type, start_value, minimum_value, maximum_value, increment, cycle_option,
                   pg_get_serial_sequence('revocation_events', 'seq') as owner_of_seq
              from information_schema.sequences where sequence_schema = 'public'
             order by sequence_name`),
        }
      })
    },
    async rows(options, table, orderBy) {
      return withPostgres(options, async (client) => (await client.query(`select * from "${table}" order by "${orderBy}"`)).rows as Row[])
    },
    binding: (options) => createPostgresBinding(options.databaseUrl!, DEFAULTS, 2),
  },
]

async function readFixture(dialect: DialectUnderTest['name']): Promise<string> {
  return readFile(new URL(`release-0001.${dialect}.sql`, FIXTURES), 'utf8')
}

async function allRows(dialect: DialectUnderTest, options: OpenStoreOptions): Promise<Record<string, Row[]>> {
  const entries = Object.entries(DATA_TABLES).map(async ([table, orderBy]) => [table, await dialect.rows(options, table, orderBy)] as const)
  return Object.fromEntries(await Promise.all(entries))
}

/** Opens the store with today's code and migrates it to the latest schema. */
async function migrateWithTodaysCode(options: OpenStoreOptions): Promise<void> {
  const store = await openStore(options)
  try {
    await store.migrate()
  } finally {
    await store.close()
  }
}

/** Today's code, stopped after `migration`: what a database of that release looks like when built fresh. */
async function migrateTo(dialect: DialectUnderTest, options: OpenStoreOptions, migration: string): Promise<void> {
  const binding = dialect.binding(options)
  try {
    const migrator = new Migrator({
      db: binding.db,
      provider: binding.migrations,
      migrationTableName: MIGRATION_TABLE,
      migrationLockTableName: MIGRATION_LOCK_TABLE,
    })
    const { error } = await migrator.migrateTo(migration)
    if (error) throw error
  } finally {
    await binding.closeExtras()
    await binding.db.destroy()
  }
}

async function previousReleaseDatabase(t: TestContext, dialect: DialectUnderTest): Promise<OpenStoreOptions> {
  const options = await dialect.createDatabase(t)
  await dialect.load(options, await readFixture(dialect.name))
  return options
}

for (const dialect of dialects) {
  describe(`migrating forward on ${dialect.name}`, { skip: dialect.skip }, () => {
    it(`builds ${RELEASED_MIGRATION} exactly as the previous release did`, async (t) => {
      const released = await previousReleaseDatabase(t, dialect)
      const rebuilt = await dialect.createDatabase(t)
      await migrateTo(dialect, rebuilt, RELEASED_MIGRATION)
      assert.deepEqual(await dialect.describeSchema(rebuilt), await dialect.describeSchema(released))
    })

    it('keeps every row, defaults the new column, drops settings, and migrate() is idempotent', async (t) => {
      const options = await previousReleaseDatabase(t, dialect)
      const before = await allRows(dialect, options)
      assert.deepEqual(
        before[MIGRATION_TABLE]!.map((row) => row.name),
        [RELEASED_MIGRATION],
      )
      assert.equal(before.accounts!.length, 2, 'the fixture has two accounts')
      assert.ok((await dialect.tables(options)).includes('settings'), 'the fixture has the settings table')

      await migrateWithTodaysCode(options)
      const after = await allRows(dialect, options)
      const { accounts, [MIGRATION_TABLE]: migrations, ...untouched } = after
      const { accounts: accountsBefore, [MIGRATION_TABLE]: migrationsBefore, ...untouchedBefore } = before
      assert.deepEqual(untouched, untouchedBefore, 'keys, revoked tokens and revocation events are as they were')
      assert.deepEqual(
        accounts,
        accountsBefore!.map((row) => ({ ...row, lockout_generation: 0, previous_password_hash: null, previous_password_until: null })),
        'every account is as it was, with lockout_generation 0 and no previous password',
      )
      assert.deepEqual(migrations!.slice(0, migrationsBefore!.length), migrationsBefore, 'the 0001 record is kept')
      assert.deepEqual(
        migrations!.map((row) => row.name),
        [RELEASED_MIGRATION, ...MIGRATIONS_SINCE],
      )
      assert.ok(!(await dialect.tables(options)).includes('settings'), 'the settings table is gone')

      const schema = await dialect.describeSchema(options)
      await migrateWithTodaysCode(options)
      assert.deepEqual(await allRows(dialect, options), after, 'a second migrate() changes no row')
      assert.deepEqual(await dialect.describeSchema(options), schema, 'a second migrate() changes no table')
    })

    it('ends with the schema a fresh database gets', async (t) => {
      const migrated = await previousReleaseDatabase(t, dialect)
      await migrateWithTodaysCode(migrated)
      const fresh = await dialect.createDatabase(t)
      await migrateWithTodaysCode(fresh)
      assert.deepEqual(await dialect.describeSchema(migrated), await dialect.describeSchema(fresh))
    })

    it('its accounts still authenticate, with its current key', async (t) => {
      const options = await previousReleaseDatabase(t, dialect)
      const [currentKey] = (await dialect.rows(options, 'signing_keys', 'kid')).filter((key) => key.state === 'current')
      assert.ok(currentKey, 'the fixture has a current key')

      const app = await startTestApp(
        { argon2: FIXTURE_ARGON2, ...(options.dataDir ? { dataDir: options.dataDir } : {}) },
        { databaseUrl: options.databaseUrl },
      )
      t.after(() => app.close())

      const answer = await app.token(basic('acme', FIXTURE_PASSWORD))
      assert.equal(answer.statusCode, 200, answer.body)
      const token = String((JSON.parse(answer.body) as { accesstoken: unknown }).accesstoken)
      assert.equal(decodeProtectedHeader(token).kid, currentKey.kid)
      const publicKey = await importJWK(JSON.parse(String(currentKey.public_jwk)), String(currentKey.alg))
      const { payload } = await jwtVerify(token, publicKey)
      assert.equal(payload.sub, 'acme')
      assert.equal((await app.store.getAccount('acme'))?.lockoutGeneration, 0)

      assert.equal(answerCode(await app.token(basic('acme', 'not-the-password'))), '3007')
    })
  })
}
