/**
 * The store's settings (`commands: 'store'` in config.ts: the data directory, the database URL
 * and the store timeouts) plus `--database-url-file`, which every command takes, and opening
 * the store they name. Flags win over the environment; the data directory defaults to `./data`
 * (so `npm start` uses ./data/bizauth.sqlite).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, DATABASE_URL_FILE, SETTINGS, STORE_SETTINGS, STORE_TIMEOUT_NAMES, resolveSettings, type RawValues, type StoreTimeouts } from '../config.js'
import type { Store } from '../store/store.js'
import { stringOption, type CommandContext, type OptionSpec } from './command.js'
import { CliError, printable } from './errors.js'
import { writeLine } from './io.js'
import { settingOption } from './setting-options.js'

const { dataDir: DATA_DIR, databaseUrl: DATABASE_URL } = SETTINGS

const DATABASE_URL_FILE_OPTION: OptionSpec = { type: 'string', valueName: 'FILE', description: DATABASE_URL_FILE.description, env: DATABASE_URL_FILE.env, defaultText: '(none)' }

/** In the order of the table, with the URL file beside the URL. */
export const STORE_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze(
  Object.fromEntries(
    STORE_SETTINGS.flatMap((setting): Array<[string, OptionSpec]> => {
      const option: [string, OptionSpec] = [setting.flag, settingOption(setting)]
      return setting.key === DATABASE_URL.key ? [option, [DATABASE_URL_FILE.flag, DATABASE_URL_FILE_OPTION]] : [option]
    }),
  ),
)

export interface StoreLocation {
  dataDir: string
  databaseUrl: string | undefined
  timeouts: StoreTimeouts
}

/** Resolved once per command run: the URL file is read, and the argv warning printed, once. */
const resolvedLocations = new WeakMap<CommandContext, StoreLocation>()

export function storeLocation(context: CommandContext): StoreLocation {
  let location = resolvedLocations.get(context)
  if (location === undefined) {
    location = resolveStoreLocation(context)
    resolvedLocations.set(context, location)
  }
  return location
}

function resolveStoreLocation(context: CommandContext): StoreLocation {
  const flags: RawValues = {}
  for (const setting of STORE_SETTINGS) flags[setting.flag] = stringOption(context, setting.flag)
  let resolved: { dataDir: string } & StoreTimeouts
  try {
    resolved = resolveSettings([DATA_DIR.key, ...STORE_TIMEOUT_NAMES], flags, context.io.env)
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${error.message}; see "${context.commandPath} --help"`)
    throw error
  }
  const { dataDir, ...timeouts } = resolved
  return { dataDir, databaseUrl: resolveDatabaseUrl(context), timeouts }
}

/** Flags win over the environment; at one level, a URL and a URL file together are a mistake. */
function resolveDatabaseUrl(context: CommandContext): string | undefined {
  const { env } = context.io
  const urlFlag = nonEmpty(stringOption(context, DATABASE_URL.flag))
  const fileFlag = nonEmpty(stringOption(context, DATABASE_URL_FILE.flag))
  if (urlFlag !== undefined && fileFlag !== undefined) throw new CliError(`give --${DATABASE_URL.flag} or --${DATABASE_URL_FILE.flag}, not both`)
  if (urlFlag !== undefined) {
    if (urlHoldsPassword(urlFlag)) {
      writeLine(
        context.io.stderr,
        `warning: the --${DATABASE_URL.flag} on the command line holds a password, which other users can see (ps, shell history); set ${DATABASE_URL.env} or use --${DATABASE_URL_FILE.flag} FILE instead`,
      )
    }
    return urlFlag
  }
  if (fileFlag !== undefined) return readDatabaseUrlFile(fileFlag, `--${DATABASE_URL_FILE.flag}`)
  const urlEnv = nonEmpty(env[DATABASE_URL.env])
  const fileEnv = nonEmpty(env[DATABASE_URL_FILE.env])
  if (urlEnv !== undefined && fileEnv !== undefined) throw new CliError(`set ${DATABASE_URL.env} or ${DATABASE_URL_FILE.env}, not both`)
  if (fileEnv !== undefined) return readDatabaseUrlFile(fileEnv, DATABASE_URL_FILE.env)
  return urlEnv
}

function readDatabaseUrlFile(file: string, source: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : printable((error as Error).message, 200)
    throw new CliError(`cannot read the database URL file ${printable(file, 200)} (${source}): ${why}`)
  }
  // The file's own line end (an editor's, or `echo`'s) is not part of the URL.
  const url = text.replace(/\r?\n$/, '')
  if (url.trim() === '') throw new CliError(`the database URL file ${printable(file, 200)} (${source}) is empty`)
  if (url.includes('\n')) throw new CliError(`the database URL file ${printable(file, 200)} (${source}) must hold one line: the postgres://… URL`)
  return url
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

/** Whether a connection URL (postgres://, redis://) carries a password: then it does not belong in argv. */
export function urlHoldsPassword(url: string): boolean {
  try {
    return new URL(url).password !== ''
  } catch {
    return false
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
    store = await openStore({ ...location.timeouts, ...(location.databaseUrl ? { databaseUrl: location.databaseUrl } : { dataDir: location.dataDir }) })
    await store.migrate()
    return store
  } catch (error) {
    await store?.close().catch(() => undefined)
    throw new CliError(`cannot open the store (${describeStoreLocation(location)}): ${oneLine(error)}; ${nextStep(location)}`)
  }
}

function nextStep(location: StoreLocation): string {
  return location.databaseUrl
    ? `check --${DATABASE_URL.flag} / ${DATABASE_URL.env} (or the URL file) and that PostgreSQL is running`
    : `check --${DATA_DIR.flag} / ${DATA_DIR.env} and that the directory is writable`
}

function oneLine(error: unknown): string {
  // Node 20 reports a refused connection as an AggregateError with an empty message and a code.
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown }).code
  const line = message.split('\n')[0]!.trim()
  return line || (typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error')
}
