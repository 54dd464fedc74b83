/**
 * `bizauth serve`: resolves the settings table (flags, then environment, then defaults), starts
 * the server, and stops it gracefully on SIGTERM/SIGINT. Logs are JSON lines on stdout (the
 * server's); the hints here are for a person and go to stderr.
 */
import { ConfigError, DEFAULTS, SECRET_SETTINGS, SERVE_SETTINGS, SETTINGS, resolveServerConfig, type RawValues, type ServerConfig } from '../../config.js'
import { DeadlineError } from '../../deadline.js'
import { defineCommand, type CommandContext } from '../command.js'
import { CliError, printable } from '../errors.js'
import { writeLine, type CliIo } from '../io.js'
import { secretNotes, settingOptions } from '../setting-options.js'
import { STORE_OPTIONS, storeLocation, urlHoldsPassword, type StoreLocation } from '../store-options.js'

const { host: HOST, port: PORT, adminHost: ADMIN_HOST, adminPort: ADMIN_PORT, tlsCert: TLS_CERT, tlsKey: TLS_KEY, databaseUrl: DATABASE_URL, redisUrl: REDIS_URL, shutdownGraceMs: SHUTDOWN_GRACE } = SETTINGS

export default defineCommand({
  name: 'serve',
  summary: `Serve POST /v1/token (and the rest of the API) over HTTP, or HTTPS with --${TLS_CERT.flag}/--${TLS_KEY.flag}.`,
  description:
    'Serve the token API. Every setting is a flag or an environment variable; a flag wins.\n' +
    `Migrations run at start. SIGTERM or SIGINT stops gracefully within --${SHUTDOWN_GRACE.flag}, then at\n` +
    'once (a second signal stops at once too).',
  options: { ...settingOptions(SERVE_SETTINGS), ...STORE_OPTIONS },
  notes: secretNotes(SECRET_SETTINGS),
  examples: ['bizauth serve', 'bizauth serve --host 0.0.0.0 --port 443 --tls-cert cert.pem --tls-key key.pem --database-url postgres://bizauth@db/bizauth'],
  async run(context) {
    const config = resolveConfig(context)
    const { startServer } = await import('../../main.js')
    let running: Awaited<ReturnType<typeof startServer>>
    try {
      running = await startServer(config)
    } catch (error) {
      throw new CliError(describeStartFailure(error, config))
    }
    const stopped = stopOnSignals(context.io, () => running.close(), config.shutdownGraceMs)
    try {
      if ((await running.store.countAccounts()) === 0) {
        writeLine(context.io.stderr, firstAccountHint(running.url, config, storeLocation(context)))
      }
    } catch {
      // The hint is a courtesy; a store hiccup here must not stop a server that is running.
    }
    await stopped
    return 0
  },
})

function resolveConfig(context: CommandContext): ServerConfig {
  const flags: RawValues = {}
  for (const [name, value] of Object.entries(context.values)) {
    if (typeof value === 'string' || typeof value === 'boolean') flags[name] = value
  }
  // The URL as every command resolves it (flag, URL file, environment), warnings included.
  const { databaseUrl } = storeLocation(context)
  if (databaseUrl !== undefined) flags[DATABASE_URL.flag] = databaseUrl
  const redisUrlFlag = flags[REDIS_URL.flag]
  if (typeof redisUrlFlag === 'string' && urlHoldsPassword(redisUrlFlag)) {
    writeLine(context.io.stderr, `warning: the --${REDIS_URL.flag} on the command line holds a password, which other users can see (ps, shell history); set ${REDIS_URL.env} instead`)
  }
  try {
    return resolveServerConfig(flags, context.io.env)
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`${error.message}; see "bizauth serve --help"`)
    throw error
  }
}

/**
 * Resolves once `close()` has finished after the first signal; a second signal exits at once,
 * and so does a close that outlives its grace period (stuck requests or store connections).
 */
function stopOnSignals(io: CliIo, close: () => Promise<void>, graceMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        writeLine(io.stderr, `${signal} again: stopping now, without waiting for requests in flight`)
        io.exitNow(signal === 'SIGINT' ? 130 : 143)
      }
      stopping = true
      close().then(
        () => {
          process.off('SIGTERM', onSignal)
          process.off('SIGINT', onSignal)
          resolve()
        },
        (error: unknown) => {
          if (!(error instanceof DeadlineError)) return reject(error)
          writeLine(io.stderr, `${signal}: requests or store connections were still busy after --${SHUTDOWN_GRACE.flag} (${graceMs} ms); stopping now`)
          io.exitNow(1)
        },
      )
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}

function describeStartFailure(error: unknown, config: ServerConfig): string {
  const code = (error as { code?: unknown }).code
  const admin = (error as { listener?: unknown }).listener === 'admin'
  const where = admin ? `${config.adminHost}:${config.adminPort} (the admin listener)` : `${config.host}:${config.port}`
  const [hostFlag, portFlag] = admin ? [ADMIN_HOST.flag, ADMIN_PORT.flag] : [HOST.flag, PORT.flag]
  if (error instanceof CliError) return error.message
  if (code === 'EADDRINUSE') return `cannot listen on ${where}: the address is in use; stop the other server or pick another --${portFlag}${admin ? ' (or off)' : ''}`
  if (code === 'EACCES') return `cannot listen on ${where}: permission denied; pick a --${portFlag} above 1023`
  if (code === 'EADDRNOTAVAIL') return `cannot listen on ${where}: no such local address; check --${hostFlag}`
  if (code === 'ENOENT' && config.tlsCert) return `cannot read the TLS files (--${TLS_CERT.flag} ${config.tlsCert}, --${TLS_KEY.flag} ${config.tlsKey}): ${printable((error as Error).message, 200)}`
  // Node 20 reports a refused connection as an AggregateError with an empty message and a code.
  const message = (error instanceof Error ? error.message.split('\n')[0] : String(error)) || (typeof code === 'string' ? code : 'unknown error')
  // A socket error code (ECONNREFUSED) or a PostgreSQL SQLSTATE (28P01, 3D000) while a database URL is set.
  const storeProblem = config.databaseUrl !== undefined && typeof code === 'string' && /^(E[A-Z]+|[0-9A-Z]{5})$/.test(code)
  const next = storeProblem ? `; check --${DATABASE_URL.flag} / ${DATABASE_URL.env} and that PostgreSQL is running` : ''
  return `cannot start the server: ${printable(message, 300)}${next}`
}

/**
 * Printed when the store has no account: the exact command that creates one, then a curl line
 * that gets a token with it (issue 2 §1).
 */
export function firstAccountHint(url: string, config: ServerConfig, location: StoreLocation): string {
  const storeArgs: string[] = []
  if (location.databaseUrl) {
    // A URL with a password is not printed; the user's environment already holds it.
    const hasPassword = safeUrl(location.databaseUrl)?.password
    storeArgs.push(`--${DATABASE_URL.flag}`, hasPassword ? `"$${DATABASE_URL.env}"` : shellQuote(location.databaseUrl))
  } else if (normalizeDir(location.dataDir) !== normalizeDir(DEFAULTS.dataDir)) {
    storeArgs.push(`--${SETTINGS.dataDir.flag}`, shellQuote(location.dataDir))
  }
  const loopback = config.host.includes(':') ? '::1' : '127.0.0.1'
  const reachableUrl = url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:')
  return [
    'No account exists yet. Create one (it prints a generated password once):',
    '',
    `  npx bizauth account create demo --allow-ip ${loopback}${storeArgs.length ? ` ${storeArgs.join(' ')}` : ''}`,
    '',
    'Then get a token with it:',
    '',
    `  curl -s -X POST ${reachableUrl.replace(/\/$/, '')}/v1/token -u demo:PASSWORD`,
    '',
  ].join('\n')
}

function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text)
  } catch {
    return undefined
  }
}

function normalizeDir(dir: string): string {
  return dir.replace(/^\.\//, '').replace(/\/+$/, '') || '.'
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
}
