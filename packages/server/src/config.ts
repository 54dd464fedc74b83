/**
 * Every setting of bizauth, in one table: its name, flag, environment variable, type, default,
 * bounds, help text, and which commands take it. Everything else is derived from the table:
 * DEFAULTS, the flags and `--help` of `serve` and of every command that opens the store, the
 * reading of the environment, and the validation of `defineServerConfig` (the embedding API).
 * So a setting cannot exist without being documented, and it is checked the same way whichever
 * door it comes through.
 *
 * defaults -> overrides -> environment -> flags (the last one given wins) -> validate -> freeze.
 * Nothing below main.ts and the CLI reads process.env; `buildApp` receives a frozen ServerConfig.
 */
import { availableParallelism } from 'node:os'
import { parseCidr, parseCidrList, type Cidr } from './net/cidr.js'

export interface ServerConfig {
  host: string
  port: number
  /** SQLite data directory (ignored with databaseUrl). */
  dataDir: string
  databaseUrl: string | undefined
  issuer: string
  trustProxy: readonly Cidr[]
  tlsCert: string | undefined
  tlsKey: string | undefined
  // --- the admin listener (issue 10 §1) ---
  adminHost: string
  /** 'off': no admin listener. */
  adminPort: number | 'off'
  /** Without them the admin listener uses tlsCert/tlsKey. */
  adminTlsCert: string | undefined
  adminTlsKey: string | undefined
  logLevel: string
  /** argon2id parameters for new hashes; a stored hash with other parameters is upgraded. */
  argon2: { memoryCost: number; timeCost: number; parallelism: number }
  signingAlgorithm: 'EdDSA' | 'ES256' | 'HS256'
  // --- HTTP edges ---
  bodyLimitBytes: number
  maxHeaderBytes: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
  maxConnections: number
  // --- abuse resistance ---
  credentialCacheTtlSeconds: number
  credentialCacheMaxEntries: number
  hashConcurrency: number
  hashQueueMax: number
  lockoutThreshold: number
  lockoutBaseSeconds: number
  lockoutMaxSeconds: number
  ipFailureLimit: number
  ipFailureWindowSeconds: number
  ipBlockSeconds: number
  /** Requests one account may make per window (contract.md §6); 0 turns the limit off. */
  rateLimit: number
  rateLimitWindowSeconds: number
  uniformAuthErrors: boolean
  // --- keys ---
  keyRotationIntervalDays: number
  keyPromotionDelaySeconds: number
  keyRefreshSeconds: number
  keyEncryptionKey: string | undefined
  // --- audit and access records (issue 11) ---
  /** One access line per request on stdout. */
  accessLog: 'on' | 'off'
  /** Audit events older than this are pruned, a checkpoint kept. */
  auditRetentionDays: number
  /** Seals the audit chain (HMAC-SHA-256); without it, plain SHA-256. */
  auditKey: string | undefined
  // --- store failures (issue 13 §3, §4) ---
  /** PostgreSQL: longest wait for a pooled connection, or for a new one to connect. */
  databaseConnectTimeoutMs: number
  /** PostgreSQL: longest statement, enforced by the server (statement_timeout) and by the client (query_timeout). */
  databaseStatementTimeoutMs: number
  /** PostgreSQL: idle time before the first TCP keepalive probe; 0 turns keepalive off. */
  databaseKeepaliveMs: number
  /** SQLite: longest wait for another process's write lock, retried without blocking the event loop. */
  sqliteBusyTimeoutMs: number
  /** Longest a /health/ready probe waits for the store before answering 503. */
  readinessTimeoutMs: number
  /** Longest a graceful stop waits for requests and the store before the process exits anyway. */
  shutdownGraceMs: number
  // --- password policy (issue 12 §3; accounts/password-policy.ts) ---
  passwordMinLength: number
  passwordMinClasses: number
  // --- counters shared between instances (issue 9 §1) ---
  /** Redis for the limits' counters; without it each instance counts in memory. */
  redisUrl: string | undefined
  /** Prefix of every key written to Redis. */
  redisKeyPrefix: string
  /** Longest a Redis call may take before the instance answers from its memory counters. */
  redisTimeoutMs: number
}

export type Argon2Params = ServerConfig['argon2']

/** A setting's name: a ServerConfig key, or `argon2.<parameter>` for the three argon2id parameters. */
export type SettingName = Exclude<keyof ServerConfig, 'argon2'> | `argon2.${keyof Argon2Params}`

/** The type of a setting's value. */
export type SettingValue<N extends SettingName> = N extends `argon2.${infer P extends keyof Argon2Params}`
  ? Argon2Params[P]
  : N extends keyof ServerConfig
    ? ServerConfig[N]
    : never

export type SettingKind = 'string' | 'integer' | 'boolean' | 'cidrs' | 'choice' | 'portOrOff' | 'url'

interface SettingRow<T> {
  kind: SettingKind
  default: T
  /** The environment variable; a flag wins over it. */
  env: string
  /** integer: inclusive bounds. */
  min?: number
  max?: number
  /** choice: the accepted values. */
  choices?: readonly string[]
  /** url: the accepted schemes, with their colon (`redis:`). */
  schemes?: readonly string[]
  /** The placeholder after the flag in --help (default: N for integers, the choices, else VALUE). */
  valueName?: string
  /** The default as --help prints it, when the value itself does not say it well. */
  defaultText?: string
  /** Printed in --help. */
  description: string
  /**
   * `serve`: only `bizauth serve` takes it. `store`: every command that opens the store does
   * (STORE_OPTIONS), so a CLI command cannot hang or look elsewhere where the server would not.
   */
  commands: 'serve' | 'store'
}

/** Secrets are environment-only: they never go through argv (`ps`, shell history). */
type FlagOrSecret = { flag: string; secret?: never } | { secret: true; flag?: never }

export type Setting<T = unknown> = SettingRow<T> & FlagOrSecret & { key: SettingName }

type Table = { [N in SettingName]: SettingRow<SettingValue<N>> & FlagOrSecret }

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const SIGNING_ALGORITHMS = ['EdDSA', 'ES256', 'HS256'] as const
const ON_OFF = ['on', 'off'] as const
const REDIS_SCHEMES = ['redis:', 'rediss:'] as const

/** The table. Its order is the order of --help. */
const TABLE = {
  host: { flag: 'host', env: 'BIZAUTH_HOST', kind: 'string', default: '127.0.0.1', valueName: 'HOST', commands: 'serve', description: 'Address to listen on.' },
  port: { flag: 'port', env: 'BIZAUTH_PORT', kind: 'integer', default: 8080, min: 0, max: 65535, valueName: 'PORT', commands: 'serve', description: 'Port to listen on (0 picks a free port).' },
  issuer: { flag: 'issuer', env: 'BIZAUTH_ISSUER', kind: 'string', default: 'bizauth', valueName: 'ISSUER', commands: 'serve', description: 'The `iss` claim of issued tokens.' },
  trustProxy: { flag: 'trust-proxy', env: 'BIZAUTH_TRUST_PROXY', kind: 'cidrs', default: [], valueName: 'CIDR[,CIDR...]', commands: 'serve', description: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is honoured. Default: never honoured.' },
  tlsCert: { flag: 'tls-cert', env: 'BIZAUTH_TLS_CERT', kind: 'string', default: undefined, valueName: 'FILE', commands: 'serve', description: 'PEM certificate file; with --tls-key, serve HTTPS.' },
  tlsKey: { flag: 'tls-key', env: 'BIZAUTH_TLS_KEY', kind: 'string', default: undefined, valueName: 'FILE', commands: 'serve', description: 'PEM private key file for --tls-cert.' },
  adminHost: { flag: 'admin-host', env: 'BIZAUTH_ADMIN_HOST', kind: 'string', default: '127.0.0.1', valueName: 'HOST', commands: 'serve', description: 'Address of the admin listener (admin API, console, /metrics).' },
  adminPort: { flag: 'admin-port', env: 'BIZAUTH_ADMIN_PORT', kind: 'portOrOff', default: 8081, min: 0, max: 65535, valueName: 'PORT|off', commands: 'serve', description: 'Port of the admin listener (0 picks a free port; off: no admin listener).' },
  adminTlsCert: { flag: 'admin-tls-cert', env: 'BIZAUTH_ADMIN_TLS_CERT', kind: 'string', default: undefined, valueName: 'FILE', defaultText: '--tls-cert', commands: 'serve', description: 'PEM certificate file of the admin listener; with --admin-tls-key.' },
  adminTlsKey: { flag: 'admin-tls-key', env: 'BIZAUTH_ADMIN_TLS_KEY', kind: 'string', default: undefined, valueName: 'FILE', defaultText: '--tls-key', commands: 'serve', description: 'PEM private key file for --admin-tls-cert.' },
  logLevel: { flag: 'log-level', env: 'BIZAUTH_LOG_LEVEL', kind: 'choice', default: 'info', choices: LOG_LEVELS, commands: 'serve', description: 'Log level (logs are JSON lines on stdout).' },
  signingAlgorithm: { flag: 'signing-alg', env: 'BIZAUTH_SIGNING_ALG', kind: 'choice', default: 'EdDSA', choices: SIGNING_ALGORITHMS, commands: 'serve', description: 'Algorithm of newly created signing keys.' },
  bodyLimitBytes: { flag: 'body-limit', env: 'BIZAUTH_BODY_LIMIT', kind: 'integer', default: 16 * 1024, min: 0, commands: 'serve', description: 'Largest request body accepted, in bytes (bodies are ignored; larger ones get 413).' },
  maxHeaderBytes: { flag: 'max-header-size', env: 'BIZAUTH_MAX_HEADER_SIZE', kind: 'integer', default: 16 * 1024, min: 1024, commands: 'serve', description: 'Largest request header block, in bytes (larger gets 431).' },
  headersTimeoutMs: { flag: 'headers-timeout', env: 'BIZAUTH_HEADERS_TIMEOUT', kind: 'integer', default: 10_000, min: 1, commands: 'serve', description: 'Milliseconds a client may take to send its headers.' },
  requestTimeoutMs: { flag: 'request-timeout', env: 'BIZAUTH_REQUEST_TIMEOUT', kind: 'integer', default: 30_000, min: 1, commands: 'serve', description: 'Milliseconds a client may take to send a whole request.' },
  keepAliveTimeoutMs: { flag: 'keep-alive-timeout', env: 'BIZAUTH_KEEP_ALIVE_TIMEOUT', kind: 'integer', default: 5_000, min: 1, commands: 'serve', description: 'Milliseconds an idle keep-alive connection stays open.' },
  maxConnections: { flag: 'max-connections', env: 'BIZAUTH_MAX_CONNECTIONS', kind: 'integer', default: 10_000, min: 1, commands: 'serve', description: 'Most simultaneous connections; further ones are refused.' },
  credentialCacheTtlSeconds: { flag: 'credential-cache-ttl', env: 'BIZAUTH_CREDENTIAL_CACHE_TTL', kind: 'integer', default: 900, min: 0, commands: 'serve', description: 'Seconds a verified password is remembered (keyed hash only); 0 disables the cache.' },
  credentialCacheMaxEntries: { flag: 'credential-cache-size', env: 'BIZAUTH_CREDENTIAL_CACHE_SIZE', kind: 'integer', default: 10_000, min: 1, commands: 'serve', description: 'Most entries in the verified-credential cache.' },
  hashConcurrency: { flag: 'hash-concurrency', env: 'BIZAUTH_HASH_CONCURRENCY', kind: 'integer', default: availableParallelism(), min: 1, commands: 'serve', description: 'argon2id checks run at once, each on a worker thread below the event loop in priority (default: the core count).' },
  hashQueueMax: { flag: 'hash-queue', env: 'BIZAUTH_HASH_QUEUE', kind: 'integer', default: 64, min: 0, commands: 'serve', description: 'argon2id checks allowed to wait; beyond it requests get 3008 at once.' },
  lockoutThreshold: { flag: 'lockout-threshold', env: 'BIZAUTH_LOCKOUT_THRESHOLD', kind: 'integer', default: 10, min: 0, commands: 'serve', description: 'Consecutive wrong passwords that lock an account (0: never).' },
  lockoutBaseSeconds: { flag: 'lockout-seconds', env: 'BIZAUTH_LOCKOUT_SECONDS', kind: 'integer', default: 60, min: 1, commands: 'serve', description: 'First lock duration; it doubles on each repeat.' },
  lockoutMaxSeconds: { flag: 'lockout-max-seconds', env: 'BIZAUTH_LOCKOUT_MAX_SECONDS', kind: 'integer', default: 3600, min: 1, commands: 'serve', description: 'Longest lock duration (at least --lockout-seconds).' },
  ipFailureLimit: { flag: 'ip-failure-limit', env: 'BIZAUTH_IP_FAILURE_LIMIT', kind: 'integer', default: 30, min: 0, commands: 'serve', description: 'Failures of any kind from one client IP within the window that block it (0: never).' },
  ipFailureWindowSeconds: { flag: 'ip-failure-window', env: 'BIZAUTH_IP_FAILURE_WINDOW', kind: 'integer', default: 60, min: 1, commands: 'serve', description: 'The window of --ip-failure-limit, in seconds.' },
  ipBlockSeconds: { flag: 'ip-block-seconds', env: 'BIZAUTH_IP_BLOCK_SECONDS', kind: 'integer', default: 300, min: 1, commands: 'serve', description: 'How long a blocked client IP gets 3008.' },
  rateLimit: { flag: 'rate-limit', env: 'BIZAUTH_RATE_LIMIT', kind: 'integer', default: 1000, min: 0, commands: 'serve', description: 'Requests one account may make per window (token requests, its own revocations, admin calls); over it, 429 with code 5002 (0: no limit).' },
  rateLimitWindowSeconds: { flag: 'rate-limit-window', env: 'BIZAUTH_RATE_LIMIT_WINDOW', kind: 'integer', default: 60, min: 1, max: 86_400, valueName: 'SECONDS', commands: 'serve', description: 'The fixed window of --rate-limit, in seconds (at most a day).' },
  uniformAuthErrors: { flag: 'uniform-auth-errors', env: 'BIZAUTH_UNIFORM_AUTH_ERRORS', kind: 'boolean', default: false, commands: 'serve', description: 'Answer 3001 instead of 3006/3007, in equal time (hides which accounts exist).' },
  keyRotationIntervalDays: { flag: 'key-rotation-days', env: 'BIZAUTH_KEY_ROTATION_DAYS', kind: 'integer', default: 30, min: 0, commands: 'serve', description: 'Rotate the signing key automatically every N days (0: never).' },
  keyPromotionDelaySeconds: { flag: 'key-promotion-delay', env: 'BIZAUTH_KEY_PROMOTION_DELAY', kind: 'integer', default: 600, min: 0, commands: 'serve', description: 'Seconds a new key is published before it signs, so verifiers see it first.' },
  keyRefreshSeconds: { flag: 'key-refresh', env: 'BIZAUTH_KEY_REFRESH', kind: 'integer', default: 5, min: 1, commands: 'serve', description: 'Seconds between reloads of the key set from the store.' },
  readinessTimeoutMs: { flag: 'readiness-timeout', env: 'BIZAUTH_READINESS_TIMEOUT', kind: 'integer', default: 1000, min: 1, commands: 'serve', description: 'Milliseconds /health/ready waits for the store before answering 503.' },
  shutdownGraceMs: { flag: 'shutdown-grace', env: 'BIZAUTH_SHUTDOWN_GRACE', kind: 'integer', default: 10_000, min: 1, commands: 'serve', description: 'Milliseconds SIGTERM waits for requests in flight and the store; then the process exits anyway.' },
  'argon2.memoryCost': { flag: 'argon2-memory', env: 'BIZAUTH_ARGON2_MEMORY', kind: 'integer', default: 19456, min: 1024, commands: 'serve', description: 'argon2id memory, KiB.' },
  'argon2.timeCost': { flag: 'argon2-time', env: 'BIZAUTH_ARGON2_TIME', kind: 'integer', default: 2, min: 1, commands: 'serve', description: 'argon2id iterations.' },
  'argon2.parallelism': { flag: 'argon2-parallelism', env: 'BIZAUTH_ARGON2_PARALLELISM', kind: 'integer', default: 1, min: 1, commands: 'serve', description: 'argon2id lanes.' },
  keyEncryptionKey: { secret: true, env: 'BIZAUTH_KEY_ENCRYPTION_KEY', kind: 'string', default: undefined, defaultText: '(none): private keys are stored unencrypted, and the server warns at start', commands: 'serve', description: 'Encrypts private keys at rest (AES-256-GCM); any string of 32+ characters, or 64 hex digits.' },
  accessLog: { flag: 'access-log', env: 'BIZAUTH_ACCESS_LOG', kind: 'choice', default: 'on', choices: ON_OFF, commands: 'serve', description: 'One JSON access line per request on stdout (never a password, header or token).' },
  auditRetentionDays: { flag: 'audit-retention-days', env: 'BIZAUTH_AUDIT_RETENTION_DAYS', kind: 'integer', default: 1095, min: 1, valueName: 'DAYS', commands: 'serve', description: 'Days audit events are kept (default 3 years); older ones are pruned, keeping a checkpoint the chain verifies from.' },
  auditKey: { secret: true, env: 'BIZAUTH_AUDIT_KEY', kind: 'string', default: undefined, defaultText: '(none): the audit trail is sealed with plain SHA-256, and the server warns at start', commands: 'serve', description: 'Seals the audit trail (HMAC-SHA-256); the same value for the server and every CLI.' },
  dataDir: { flag: 'data-dir', env: 'BIZAUTH_DATA_DIR', kind: 'string', default: './data', valueName: 'DIR', commands: 'store', description: 'Directory of the embedded SQLite store.' },
  databaseUrl: { flag: 'database-url', env: 'BIZAUTH_DATABASE_URL', kind: 'string', default: undefined, valueName: 'URL', defaultText: '(none: SQLite)', commands: 'store', description: 'postgres://… to use PostgreSQL instead of SQLite.' },
  databaseConnectTimeoutMs: { flag: 'database-connect-timeout', env: 'BIZAUTH_DATABASE_CONNECT_TIMEOUT', kind: 'integer', default: 2000, min: 1, valueName: 'MS', commands: 'store', description: 'PostgreSQL: milliseconds to wait for a pooled connection or for a new one to connect.' },
  databaseStatementTimeoutMs: { flag: 'database-statement-timeout', env: 'BIZAUTH_DATABASE_STATEMENT_TIMEOUT', kind: 'integer', default: 5000, min: 1, valueName: 'MS', commands: 'store', description: 'PostgreSQL: longest statement in milliseconds, enforced by the server and by the client (a stalled connection is then discarded).' },
  databaseKeepaliveMs: { flag: 'database-keepalive', env: 'BIZAUTH_DATABASE_KEEPALIVE', kind: 'integer', default: 10_000, min: 0, valueName: 'MS', commands: 'store', description: 'PostgreSQL: milliseconds of idle before the first TCP keepalive probe (0: keepalive off).' },
  passwordMinLength: { flag: 'password-min-length', env: 'BIZAUTH_PASSWORD_MIN_LENGTH', kind: 'integer', default: 10, min: 1, max: 128, commands: 'store', description: 'Fewest characters of a password an operator sets (generated ones always comply).' },
  passwordMinClasses: { flag: 'password-min-classes', env: 'BIZAUTH_PASSWORD_MIN_CLASSES', kind: 'integer', default: 2, min: 1, max: 3, commands: 'store', description: 'Fewest classes of letters, digits and symbols in a password an operator sets.' },
  redisUrl: {
    flag: 'redis-url',
    env: 'BIZAUTH_REDIS_URL',
    kind: 'url',
    schemes: REDIS_SCHEMES,
    default: undefined,
    valueName: 'URL',
    defaultText: '(none): each instance counts in its own memory',
    commands: 'serve',
    description: 'Redis holding the counters of lockouts, IP blocks and the rate limit, shared by every instance: redis://[:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS. Give a password in the variable, not on the command line.',
  },
  redisKeyPrefix: { flag: 'redis-key-prefix', env: 'BIZAUTH_REDIS_KEY_PREFIX', kind: 'string', default: 'bizauth:', valueName: 'PREFIX', commands: 'serve', description: 'Prefix of every Redis key; instances that share counters use the same one.' },
  redisTimeoutMs: { flag: 'redis-timeout', env: 'BIZAUTH_REDIS_TIMEOUT', kind: 'integer', default: 50, min: 1, valueName: 'MS', commands: 'serve', description: 'Milliseconds a Redis call may take; past it, or while Redis is down, the instance counts in its own memory until Redis answers again.' },
  sqliteBusyTimeoutMs: { flag: 'sqlite-busy-timeout', env: 'BIZAUTH_SQLITE_BUSY_TIMEOUT', kind: 'integer', default: 5000, min: 0, valueName: 'MS', commands: 'store', description: "SQLite: milliseconds a write retries another process's write lock (without blocking the server) before it fails." },
} as const satisfies Table

/** Every setting by name, each row with its name as `key`. */
export const SETTINGS: { readonly [N in SettingName]: (typeof TABLE)[N] & { readonly key: N } } = Object.freeze(
  Object.fromEntries(Object.entries(TABLE).map(([key, row]) => [key, Object.freeze({ ...row, key })])),
) as never

/** Every setting, in the order of the table (and of --help). */
export const SETTING_LIST: readonly Setting[] = Object.freeze(Object.values(SETTINGS) as Setting[])

export type FlagSetting = Setting & { flag: string }
const hasFlag = (setting: Setting): setting is FlagSetting => setting.flag !== undefined

/** What only `bizauth serve` takes as a flag (the store's settings come with STORE_OPTIONS). */
export const SERVE_SETTINGS: readonly FlagSetting[] = SETTING_LIST.filter(hasFlag).filter((setting) => setting.commands === 'serve')

/** What every command that opens the store takes, as flags. */
export const STORE_SETTINGS: readonly FlagSetting[] = SETTING_LIST.filter(hasFlag).filter((setting) => setting.commands === 'store')

/** Environment-only settings (secrets). */
export const SECRET_SETTINGS: readonly Setting[] = SETTING_LIST.filter((setting) => setting.secret)

/**
 * A second way to give `databaseUrl` on the command line: a file holding it, so argv (and so
 * `ps`) never shows its password. Not a setting of its own: it has no value beyond the URL.
 */
export const DATABASE_URL_FILE = {
  flag: 'database-url-file',
  env: 'BIZAUTH_DATABASE_URL_FILE',
  description: 'A file holding the postgres://… URL (one line), so no password shows in argv; instead of --database-url.',
} as const

export const ARGON2_PARAMS = ['memoryCost', 'timeCost', 'parallelism'] as const satisfies ReadonlyArray<keyof Argon2Params>

export type StoreTimeouts = Pick<ServerConfig, 'databaseConnectTimeoutMs' | 'databaseStatementTimeoutMs' | 'databaseKeepaliveMs' | 'sqliteBusyTimeoutMs'>

/** Flat values keyed by setting name: how the table sees a config. */
type FlatValues = { -readonly [N in SettingName]: SettingValue<N> }

function nest(flat: FlatValues): ServerConfig {
  const config: Record<string, unknown> = { argon2: {} }
  for (const [name, value] of Object.entries(flat)) {
    if (name.startsWith('argon2.')) (config.argon2 as Record<string, unknown>)[name.slice('argon2.'.length)] = value
    else config[name] = value
  }
  return config as unknown as ServerConfig
}

function tableDefaults(): FlatValues {
  return Object.fromEntries(SETTING_LIST.map((setting) => [setting.key, setting.default])) as FlatValues
}

/** Defaults: every setting's `default` from the table. */
export const DEFAULTS: Readonly<ServerConfig> = deepFreeze(nest(tableDefaults()))

/** A setting refused on the command line or in the environment: names the flag and the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export type RawValues = Record<string, string | boolean | undefined>
export type Environment = Record<string, string | undefined>

type Checked = { ok: true; value: unknown } | { ok: false; problem: string }
const valid = (value: unknown): Checked => ({ ok: true, value })
const invalid = (problem: string): Checked => ({ ok: false, problem })

/** How a refused value is shown: numbers and short words as given, anything else by its type. */
function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a value of type ${typeof value}`
}

function isCidr(value: unknown): value is Cidr {
  return typeof value === 'object' && value !== null && typeof (value as Cidr).text === 'string'
}

/**
 * The one validator, for a value of the setting's type (flags and the environment are turned
 * into one first, by `fromText`). A string setting's value is never echoed: it may be a secret
 * or a database URL with a password.
 */
function check(setting: Setting, value: unknown): Checked {
  switch (setting.kind) {
    case 'integer': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return invalid(` must be a whole number, got ${shown(value)}`)
      if (setting.min !== undefined && value < setting.min) return invalid(` must be at least ${setting.min}, got ${value}`)
      if (setting.max !== undefined && value > setting.max) return invalid(` must be at most ${setting.max}, got ${value}`)
      return valid(value)
    }
    case 'string':
      if (typeof value !== 'string') return invalid(` must be a string, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`)
      if (value === '') return invalid(' must not be empty')
      return valid(value)
    case 'choice':
      if (typeof value !== 'string' || !setting.choices!.includes(value)) return invalid(` must be one of ${setting.choices!.join(', ')}, got ${shown(value)}`)
      return valid(value)
    case 'boolean':
      if (typeof value !== 'boolean') return invalid(` must be true or false, got ${shown(value)}`)
      return valid(value)
    case 'url': {
      if (typeof value !== 'string') return invalid(` must be a string, got ${shown(value)}`)
      if (value === '') return invalid(' must not be empty')
      // The value is never echoed (it may hold a password); its scheme is safe to name.
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase()
      const accepted = setting.schemes!.map((name) => `${name}//`).join(' or ')
      if (scheme === undefined || !setting.schemes!.includes(`${scheme}:`)) {
        return invalid(` must be a ${accepted} URL, e.g. redis://:PASSWORD@HOST:6379/0, got ${scheme === undefined ? 'no URL scheme' : `a ${scheme}: URL`}`)
      }
      if (!URL.canParse(value)) return invalid(` is not a valid URL; write it as ${setting.schemes![0]}//[:PASSWORD@]HOST[:PORT][/DB] (${accepted}), percent-encoding special characters of the password`)
      return valid(value)
    }
    case 'portOrOff':
      if (value === 'off') return valid(value)
      if (typeof value !== 'number') return invalid(` must be a port number or "off", got ${shown(value)}`)
      return check({ ...setting, kind: 'integer' }, value)
    case 'cidrs': {
      if (!Array.isArray(value)) return invalid(` must be a list of addresses or CIDR ranges, got ${shown(value)}`)
      try {
        // Re-parsed from their text, so a hand-made Cidr object cannot carry bytes its text does not say.
        return valid(
          value.map((item: unknown) => {
            if (typeof item === 'string') return parseCidr(item)
            if (isCidr(item)) return parseCidr(item.text)
            throw new Error(`each entry must be an address or CIDR range, got ${shown(item)}`)
          }),
        )
      } catch (error) {
        return invalid(`: ${(error as Error).message}`)
      }
    }
  }
}

const TRUE_WORDS = ['1', 'true', 'yes', 'on']
const FALSE_WORDS = ['0', 'false', 'no', 'off', '']

/** A flag's or an environment variable's text as a value of the setting's type, then checked. */
function fromText(setting: Setting, raw: string | boolean): Checked {
  const text = typeof raw === 'string' ? raw.trim() : ''
  switch (setting.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return valid(raw)
      if (TRUE_WORDS.includes(text.toLowerCase())) return valid(true)
      if (FALSE_WORDS.includes(text.toLowerCase())) return valid(false)
      return invalid(` must be true or false, got "${raw}"`)
    case 'integer':
      if (!/^\d+$/.test(text)) return invalid(` must be a whole number, got "${String(raw)}"`)
      return check(setting, Number(text))
    case 'portOrOff':
      if (text.toLowerCase() === 'off') return valid('off')
      return fromText({ ...setting, kind: 'integer' }, raw)
    case 'cidrs':
      try {
        return check(setting, parseCidrList(String(raw)))
      } catch (error) {
        return invalid(`: ${(error as Error).message}`)
      }
    case 'string':
    case 'choice':
    case 'url':
      return check(setting, String(raw))
  }
}

/** `--port (BIZAUTH_PORT)`, or just the variable for an environment-only setting. */
export function cliName(setting: Setting): string {
  return setting.flag === undefined ? setting.env : `--${setting.flag} (${setting.env})`
}

/**
 * One setting from the command line: the flag (keyed by flag name), else the environment
 * variable; `undefined` when neither gives it. An empty environment variable counts as unset
 * (`BIZAUTH_PORT= bizauth serve` is the default port); an empty flag is a value, and refused
 * where the setting refuses it. Throws ConfigError naming the flag and the variable.
 */
export function readSetting<N extends SettingName>(name: N, flags: RawValues, env: Environment): SettingValue<N> | undefined {
  const setting: Setting = SETTINGS[name]
  const fromFlag = setting.flag === undefined ? undefined : flags[setting.flag]
  const fromEnv = env[setting.env] === '' ? undefined : env[setting.env]
  const raw = fromFlag ?? fromEnv
  if (raw === undefined) return undefined
  const checked = fromText(setting, raw)
  if (!checked.ok) throw new ConfigError(`${cliName(setting)}${checked.problem}`)
  return checked.value as SettingValue<N>
}

/** Several settings from the command line, each falling back to its default. */
export function resolveSettings<N extends SettingName>(names: readonly N[], flags: RawValues, env: Environment): { [K in N]: SettingValue<K> } {
  const values: Record<string, unknown> = {}
  for (const name of names) values[name] = readSetting(name, flags, env) ?? SETTINGS[name].default
  return Object.freeze(values) as { [K in N]: SettingValue<K> }
}

export const STORE_TIMEOUT_NAMES = ['databaseConnectTimeoutMs', 'databaseStatementTimeoutMs', 'databaseKeepaliveMs', 'sqliteBusyTimeoutMs'] as const satisfies ReadonlyArray<keyof StoreTimeouts>

/** The argon2id parameters from the command line (BIZAUTH_ARGON2_* and their flags). */
export function resolveArgon2(flags: RawValues, env: Environment): Argon2Params {
  const flat = resolveSettings(ARGON2_PARAMS.map((param) => `argon2.${param}` as const), flags, env)
  return Object.freeze({ memoryCost: flat['argon2.memoryCost'], timeCost: flat['argon2.timeCost'], parallelism: flat['argon2.parallelism'] })
}

/** What defineServerConfig accepts: any subset of ServerConfig, argon2 parameters included. */
export type ServerConfigOverrides = Partial<Omit<ServerConfig, 'argon2'>> & { argon2?: Partial<Argon2Params> }

const API = 'defineServerConfig'

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Each override checked like its flag; an `undefined` value is the same as leaving it out. */
function applyOverrides(values: FlatValues, overrides: unknown): void {
  if (!isPlainObject(overrides)) throw new TypeError(`${API}: the overrides must be an object of settings, got ${shown(overrides)}`)
  // Names as the table has them: `argon2.timeCost` only from the nested form, never as a key.
  const entries: Array<[string, unknown]> = []
  for (const [key, value] of Object.entries(overrides)) {
    if (key.includes('.')) throw new TypeError(`${API}: unknown setting ${JSON.stringify(key)}`)
    if (key !== 'argon2') entries.push([key, value])
    else if (value === undefined) continue
    else if (!isPlainObject(value)) throw new TypeError(`${API}: argon2 must be an object of ${ARGON2_PARAMS.join(', ')}, got ${shown(value)}`)
    else for (const [param, inner] of Object.entries(value)) entries.push([`argon2.${param}`, inner])
  }
  for (const [name, value] of entries) {
    const setting = Object.hasOwn(SETTINGS, name) ? (SETTINGS as Record<string, Setting>)[name]! : undefined
    if (setting === undefined) throw new TypeError(`${API}: unknown setting ${JSON.stringify(name)}`)
    if (value === undefined) continue
    const checked = check(setting, value)
    if (!checked.ok) throw new TypeError(`${API}: ${name}${checked.problem}`)
    ;(values as Record<string, unknown>)[name] = checked.value
  }
}

/** The checks that span settings, on either path; `name` says a setting the way its path does. */
function checkTogether(values: FlatValues, name: (setting: Setting) => string, fail: (message: string) => Error): void {
  if ((values.tlsCert === undefined) !== (values.tlsKey === undefined)) {
    throw fail(`${name(SETTINGS.tlsCert)} and ${name(SETTINGS.tlsKey)} go together: give both to serve HTTPS, or neither`)
  }
  if ((values.adminTlsCert === undefined) !== (values.adminTlsKey === undefined)) {
    throw fail(`${name(SETTINGS.adminTlsCert)} and ${name(SETTINGS.adminTlsKey)} go together: give both, or neither to use the public listener's`)
  }
  if (values.lockoutMaxSeconds < values.lockoutBaseSeconds) {
    throw fail(`${name(SETTINGS.lockoutMaxSeconds)} must be at least ${name(SETTINGS.lockoutBaseSeconds)}, got ${values.lockoutMaxSeconds} < ${values.lockoutBaseSeconds}`)
  }
}

/**
 * Builds a frozen ServerConfig from the command line: defaults, then `overrides` (checked as by
 * defineServerConfig), then the environment, then flags (flags win). `flags` are keyed by flag
 * name (`trust-proxy`), `env` by variable name. A refused value throws ConfigError naming the
 * flag and the variable.
 */
export function resolveServerConfig(flags: RawValues, env: Environment, overrides: ServerConfigOverrides = {}): ServerConfig {
  const values = tableDefaults()
  applyOverrides(values, overrides)
  for (const setting of SETTING_LIST) {
    const value = readSetting(setting.key, flags, env)
    if (value !== undefined) (values as Record<string, unknown>)[setting.key] = value
  }
  checkTogether(values, (setting) => (setting.flag === undefined ? setting.env : `--${setting.flag}`), (message) => new ConfigError(message))
  return deepFreeze(nest(values))
}

/**
 * The embedding API: defaults plus overrides, each checked exactly as its flag is (bounds,
 * choices, types, non-empty strings, CIDR lists), and frozen deeply. A refused value throws a
 * TypeError naming the setting, e.g. `defineServerConfig: port must be at most 65535, got 99999`.
 */
export function defineServerConfig(overrides: ServerConfigOverrides = {}): ServerConfig {
  const values = tableDefaults()
  applyOverrides(values, overrides)
  checkTogether(values, (setting) => setting.key, (message) => new TypeError(`${API}: ${message}`))
  return deepFreeze(nest(values))
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
