/**
 * `--data-dir` / `--database-url` / `--database-url-file` and the store timeouts, which every
 * command takes, and opening the store they name. Flags win over BIZAUTH_DATA_DIR /
 * BIZAUTH_DATABASE_URL / BIZAUTH_DATABASE_URL_FILE; the data directory defaults to `./data`
 * (so `npm start` uses ./data/bizauth.sqlite).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, DEFAULTS, STORE_SETTINGS, STORE_TIMEOUT_SETTINGS, resolveStoreTimeouts, type RawValues, type StoreTimeouts } from '../config.js'
import type { Store } from '../store/store.js'
import { stringOption, type CommandContext, type OptionSpec } from './command.js'
import { CliError, printable } from './errors.js'
import { writeLine } from './io.js'

const VALUE_NAMES: Record<string, string> = { 'data-dir': 'DIR', 'database-url': 'URL' }

/** A file holding the database URL: argv (and so `ps`) then never shows its password. */
const DATABASE_URL_FILE = { flag: 'database-url-file', env: 'BIZAUTH_DATABASE_URL_FILE' } as const

export const STORE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  ...Object.fromEntries(
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
  ),
  [DATABASE_URL_FILE.flag]: {
    type: 'string',
    valueName: 'FILE',
    description: 'A file holding the postgres://… URL (one line), so no password shows in argv; instead of --database-url.',
    env: DATABASE_URL_FILE.env,
    defaultText: '(none)',
  } satisfies OptionSpec,
  ...Object.fromEntries(
    STORE_TIMEOUT_SETTINGS.map((spec) => [
      spec.flag,
      { type: 'string', valueName: 'MS', description: spec.description, env: spec.env, defaultText: String(DEFAULTS[spec.key]) } satisfies OptionSpec,
    ]),
  ),
}

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
  const { env } = context.io
  const flag = (name: string): string | undefined => nonEmpty(stringOption(context, name))
  const flags: RawValues = {}
  for (const spec of STORE_TIMEOUT_SETTINGS) flags[spec.flag] = flag(spec.flag)
  let timeouts: StoreTimeouts
  try {
    timeouts = resolveStoreTimeouts(flags, env)
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${error.message}; see "${context.commandPath} --help"`)
    throw error
  }
  return {
    dataDir: flag('data-dir') ?? nonEmpty(env.BIZAUTH_DATA_DIR) ?? DEFAULTS.dataDir,
    databaseUrl: resolveDatabaseUrl(context),
    timeouts,
  }
}

/** Flags win over the environment; at one level, a URL and a URL file together are a mistake. */
function resolveDatabaseUrl(context: CommandContext): string | undefined {
  const { env } = context.io
  const urlFlag = nonEmpty(stringOption(context, 'database-url'))
  const fileFlag = nonEmpty(stringOption(context, DATABASE_URL_FILE.flag))
  if (urlFlag !== undefined && fileFlag !== undefined) throw new CliError(`give --database-url or --${DATABASE_URL_FILE.flag}, not both`)
  if (urlFlag !== undefined) {
    if (safePassword(urlFlag)) {
      writeLine(
        context.io.stderr,
        `warning: the --database-url on the command line holds a password, which other users can see (ps, shell history); set BIZAUTH_DATABASE_URL or use --${DATABASE_URL_FILE.flag} FILE instead`,
      )
    }
    return urlFlag
  }
  if (fileFlag !== undefined) return readDatabaseUrlFile(fileFlag, `--${DATABASE_URL_FILE.flag}`)
  const urlEnv = nonEmpty(env.BIZAUTH_DATABASE_URL)
  const fileEnv = nonEmpty(env[DATABASE_URL_FILE.env])
  if (urlEnv !== undefined && fileEnv !== undefined) throw new CliError(`set BIZAUTH_DATABASE_URL or ${DATABASE_URL_FILE.env}, not both`)
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

function safePassword(url: string): boolean {
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
    ? 'check --database-url / BIZAUTH_DATABASE_URL (or the URL file) and that PostgreSQL is running'
    : 'check --data-dir / BIZAUTH_DATA_DIR and that the directory is writable'
}

function oneLine(error: unknown): string {
  // Node 20 reports a refused connection as an AggregateError with an empty message and a code.
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown }).code
  const line = message.split('\n')[0]!.trim()
  return line || (typeof code === 'string' ? code : error instanceof Error ? error.name : 'unknown error')
}
