/**
 * Opens the store the settings point at. It does not migrate: callers run `store.migrate()`
 * (at server start, and as `bizauth migrate`).
 */
import { DEFAULTS, type StoreTimeouts } from '../config.js'
import { createKyselyStore } from './kysely-store.js'
import type { Store } from './store.js'

/** `postgres://…` or `postgresql://…`. */
export function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://')
}

/** The timeouts default to the documented DEFAULTS; a ServerConfig is a complete OpenStoreOptions. */
export interface OpenStoreOptions extends Partial<StoreTimeouts> {
  /** Directory of the embedded SQLite database (`<dataDir>/bizauth.sqlite`), created 0700 if missing. */
  dataDir?: string
  /** `postgres://…` or `postgresql://…` selects PostgreSQL; unset selects SQLite in `dataDir`. */
  databaseUrl?: string
  /** Connections in the PostgreSQL pool (default 10). */
  postgresPoolSize?: number
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { databaseUrl, dataDir, postgresPoolSize } = options
  const timeouts: StoreTimeouts = {
    databaseConnectTimeoutMs: options.databaseConnectTimeoutMs ?? DEFAULTS.databaseConnectTimeoutMs,
    databaseStatementTimeoutMs: options.databaseStatementTimeoutMs ?? DEFAULTS.databaseStatementTimeoutMs,
    databaseKeepaliveMs: options.databaseKeepaliveMs ?? DEFAULTS.databaseKeepaliveMs,
    sqliteBusyTimeoutMs: options.sqliteBusyTimeoutMs ?? DEFAULTS.sqliteBusyTimeoutMs,
  }
  if (databaseUrl) {
    // The URL may hold a password, so it never goes into an error message.
    if (!isPostgresUrl(databaseUrl)) {
      throw new Error('unsupported database URL: only postgres:// and postgresql:// are supported')
    }
    // Each driver is loaded only when chosen: a CLI command pays for one, not both.
    const { createPostgresBinding } = await import('./postgres/dialect.js')
    return createKyselyStore(createPostgresBinding(databaseUrl, timeouts, postgresPoolSize))
  }
  if (!dataDir) throw new Error('openStore needs a dataDir (SQLite) or a databaseUrl (PostgreSQL)')
  const { createSqliteBinding, prepareSqliteFile } = await import('./sqlite/dialect.js')
  return createKyselyStore(createSqliteBinding(prepareSqliteFile(dataDir), timeouts))
}
