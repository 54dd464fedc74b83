/**
 * A fresh PostgreSQL database per test suite, so suites can run in parallel against the one
 * server named by BIZAUTH_TEST_DATABASE_URL without seeing each other's rows.
 *
 *   const skip = await postgresSkipReason()
 *   describe('on PostgreSQL', { skip }, () => {
 *     let database: PostgresTestDatabase
 *     before(async () => { database = await withPostgresDatabase() })
 *     after(() => database?.drop())
 *     ...
 *   })
 *
 * Without the variable the suite is skipped with the reason "BIZAUTH_TEST_DATABASE_URL not set".
 * With BIZAUTH_REQUIRE_SERVICES=1 (CI), an unreachable server is not a reason to skip: the
 * suite runs and fails.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'

export const POSTGRES_URL_VARIABLE = 'BIZAUTH_TEST_DATABASE_URL'
export const POSTGRES_NOT_SET_REASON = `${POSTGRES_URL_VARIABLE} not set`

export interface PostgresTestDatabase {
  /** Connection URL of the fresh, empty database. */
  readonly url: string
  readonly name: string
  /** Drops the database, disconnecting anyone still connected. Safe to call twice. */
  drop(): Promise<void>
}

function servicesRequired(): boolean {
  return process.env.BIZAUTH_REQUIRE_SERVICES === '1'
}

function serverUrl(): string | undefined {
  return process.env[POSTGRES_URL_VARIABLE] || undefined
}

async function withAdminClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

/**
 * Why PostgreSQL tests must be skipped, or undefined when they should run. Never includes the
 * URL itself (it may carry a password).
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  const url = serverUrl()
  if (!url) return POSTGRES_NOT_SET_REASON
  if (servicesRequired()) return undefined
  try {
    await withAdminClient(url, (client) => client.query('select 1'))
    return undefined
  } catch (error) {
    return `PostgreSQL at ${POSTGRES_URL_VARIABLE} is unreachable (${(error as Error).message})`
  }
}

/** Creates `bizauth_test_<random>` on the server of BIZAUTH_TEST_DATABASE_URL. */
export async function withPostgresDatabase(): Promise<PostgresTestDatabase> {
  const url = serverUrl()
  if (!url) throw new Error(POSTGRES_NOT_SET_REASON)
  const name = `bizauth_test_${randomBytes(6).toString('hex')}`
  await withAdminClient(url, (client) => client.query(`create database ${name}`))
  const databaseUrl = new URL(url)
  databaseUrl.pathname = `/${name}`
  let dropped = false
  return {
    url: databaseUrl.toString(),
    name,
    async drop() {
      if (dropped) return
      dropped = true
      await withAdminClient(url, (client) => client.query(`drop database if exists ${name} with (force)`))
    },
  }
}
