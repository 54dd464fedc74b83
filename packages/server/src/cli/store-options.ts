/**
 * `--data-dir` / `--database-url`, which every command takes, and opening the store they name.
 * Flags win over BIZAUTH_DATA_DIR / BIZAUTH_DATABASE_URL; the data directory defaults to
 * `./data` (so `npm start` uses ./data/bizauth.sqlite).
 */
import { join } from 'node:path'
import { DEFAULTS, STORE_SETTINGS } from '../config.js'
import type { Store } from '../store/store.js'
import { stringOption, type CommandContext, type OptionSpec } from './command.js'
import { CliError } from './errors.js'

const VALUE_NAMES: Record<string, string> = { 'data-dir': 'DIR', 'database-url': 'URL' }

export const STORE_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.fromEntries(
  STORE_SETTINGS.map((spec) => [
    spec.flag,
    {
      type: 'string',
      valueName: VALUE_NAMES[spec.flag] ?? 'VALUE',
      description: spec.description,
      env: spec.env,
      defaultText: spec.key === 'dataDir' ? DEFAULTS.dataDir : '(none: SQLite)',
    } satisfies OptionSpec,
  ]),
)

export interface StoreLocation {
  dataDir: string
  databaseUrl: string | undefined
}

export function storeLocation(context: CommandContext): StoreLocation {
  const pick = (flag: string, env: string): string | undefined => {
    const value = stringOption(context, flag) ?? context.io.env[env]
    return value === '' ? undefined : value
  }
  return {
    dataDir: pick('data-dir', 'BIZAUTH_DATA_DIR') ?? DEFAULTS.dataDir,
    databaseUrl: pick('database-url', 'BIZAUTH_DATABASE_URL'),
  }
}

/** Where the store is, for messages: never the database URL's password. */
export function describeStoreLocation(location: StoreLocation): string {
  if (location.databaseUrl) return `PostgreSQL at ${redactDatabaseUrl(location.databaseUrl)}`
  return `SQLite at ${join(location.dataDir, 'bizauth.sqlite')}`
}

export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    parsed.search = ''
    return parsed.toString()
  } catch {
    return '(an unreadable URL)'
  }
}

/** Opens and migrates the store, runs `work`, and always closes it. */
export async function withStore<T>(context: CommandContext, work: (store: Store) => Promise<T>): Promise<T> {
  const location = storeLocation(context)
  const store = await openMigratedStore(location)
  try {
    return await work(store)
  } finally {
    await store.close()
  }
}

export async function openMigratedStore(location: StoreLocation): Promise<Store> {
  let store: Store | undefined
  try {
    // Imported here, not at the top: the database drivers are the slow part of starting the
    // CLI, and `--help` or a usage error should not wait for them.
    const { openStore } = await import('../store/open.js')
    store = await openStore(location.databaseUrl ? { databaseUrl: location.databaseUrl } : { dataDir: location.dataDir })
    await store.migrate()
    return store
  } catch (error) {
    await store?.close().catch(() => undefined)
    throw new CliError(`cannot open the store (${describeStoreLocation(location)}): ${oneLine(error)}; ${nextStep(location)}`)
  }
}

function nextStep(location: StoreLocation): string {
  return location.databaseUrl
    ? 'check --database-url / BIZAUTH_DATABASE_URL and that PostgreSQL is running'
    : 'check --data-dir / BIZAUTH_DATA_DIR and that the directory is writable'
}

function oneLine(error: unknown): string {
  // Node 20 reports a refused connection as an AggregateError with an empty message and a code.
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown }).code
  const line = message.split('\n')[0]!.trim()
  return line || (typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error')
}
