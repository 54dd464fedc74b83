/**
 * Every setting of `bizauth serve`, in one documented table: flag, environment variable,
 * default and description. `--help` is generated from it, so a setting cannot exist
 * without being documented.
 *
 * defaults -> flags/env -> validate -> freeze. Nothing below main.ts and the CLI reads
 * process.env; `buildApp` receives a frozen ServerConfig.
 */
import { availableParallelism } from 'node:os'
import { parseCidrList, type Cidr } from './net/cidr.js'
import { TOKEN_LIFETIME_SECONDS } from './tokens/lifetime.js'

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
  logLevel: string
  /** argon2id parameters for new hashes; a stored hash with other parameters is upgraded. */
  argon2: { memoryCost: number; timeCost: number; parallelism: number }
  tokenTtlSeconds: number
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
  issuanceRatePerMinute: number
  uniformAuthErrors: boolean
  // --- keys ---
  keyRotationIntervalDays: number
  keyPromotionDelaySeconds: number
  keyRefreshSeconds: number
  keyEncryptionKey: string | undefined
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
}

type Kind = 'string' | 'integer' | 'boolean' | 'cidrs' | 'choice'

export interface SettingSpec<K extends keyof ServerConfig = keyof ServerConfig> {
  key: K
  flag: string
  env: string
  kind: Kind
  choices?: readonly string[]
  min?: number
  max?: number
  /** Printed in --help; `undefined` defaults print as "(none)". */
  description: string
  secret?: boolean
}

/** Defaults: the documented source of every setting. */
export const DEFAULTS: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  databaseUrl: undefined,
  issuer: 'bizauth',
  trustProxy: [],
  tlsCert: undefined,
  tlsKey: undefined,
  logLevel: 'info',
  argon2: { memoryCost: 19456, timeCost: 2, parallelism: 1 },
  tokenTtlSeconds: TOKEN_LIFETIME_SECONDS,
  signingAlgorithm: 'EdDSA',
  bodyLimitBytes: 16 * 1024,
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  credentialCacheTtlSeconds: 900,
  credentialCacheMaxEntries: 10_000,
  hashConcurrency: availableParallelism(),
  hashQueueMax: 64,
  lockoutThreshold: 10,
  lockoutBaseSeconds: 60,
  lockoutMaxSeconds: 3600,
  ipFailureLimit: 30,
  ipFailureWindowSeconds: 60,
  ipBlockSeconds: 300,
  issuanceRatePerMinute: 600,
  uniformAuthErrors: false,
  keyRotationIntervalDays: 30,
  keyPromotionDelaySeconds: 600,
  keyRefreshSeconds: 5,
  keyEncryptionKey: undefined,
  databaseConnectTimeoutMs: 2000,
  databaseStatementTimeoutMs: 5000,
  databaseKeepaliveMs: 10_000,
  sqliteBusyTimeoutMs: 5000,
  readinessTimeoutMs: 1000,
  shutdownGraceMs: 10_000,
})

const S = <K extends keyof ServerConfig>(spec: SettingSpec<K>): SettingSpec<K> => spec

/** The table behind `bizauth serve --help`. argon2 parameters are flattened into three flags. */
export const SERVE_SETTINGS: readonly SettingSpec[] = [
  S({ key: 'host', flag: 'host', env: 'BIZAUTH_HOST', kind: 'string', description: 'Address to listen on.' }),
  S({ key: 'port', flag: 'port', env: 'BIZAUTH_PORT', kind: 'integer', min: 0, max: 65535, description: 'Port to listen on (0 picks a free port).' }),
  S({ key: 'issuer', flag: 'issuer', env: 'BIZAUTH_ISSUER', kind: 'string', description: 'The `iss` claim of issued tokens.' }),
  S({ key: 'trustProxy', flag: 'trust-proxy', env: 'BIZAUTH_TRUST_PROXY', kind: 'cidrs', description: 'Comma-separated proxy addresses/CIDRs whose X-Forwarded-For is honoured. Default: never honoured.' }),
  S({ key: 'tlsCert', flag: 'tls-cert', env: 'BIZAUTH_TLS_CERT', kind: 'string', description: 'PEM certificate file; with --tls-key, serve HTTPS.' }),
  S({ key: 'tlsKey', flag: 'tls-key', env: 'BIZAUTH_TLS_KEY', kind: 'string', description: 'PEM private key file for --tls-cert.' }),
  S({ key: 'logLevel', flag: 'log-level', env: 'BIZAUTH_LOG_LEVEL', kind: 'choice', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], description: 'Log level (logs are JSON lines on stdout).' }),
  S({ key: 'signingAlgorithm', flag: 'signing-alg', env: 'BIZAUTH_SIGNING_ALG', kind: 'choice', choices: ['EdDSA', 'ES256', 'HS256'], description: 'Algorithm of newly created signing keys.' }),
  S({ key: 'bodyLimitBytes', flag: 'body-limit', env: 'BIZAUTH_BODY_LIMIT', kind: 'integer', min: 0, description: 'Largest request body accepted, in bytes (bodies are ignored; larger ones get 413).' }),
  S({ key: 'maxHeaderBytes', flag: 'max-header-size', env: 'BIZAUTH_MAX_HEADER_SIZE', kind: 'integer', min: 1024, description: 'Largest request header block, in bytes (larger gets 431).' }),
  S({ key: 'headersTimeoutMs', flag: 'headers-timeout', env: 'BIZAUTH_HEADERS_TIMEOUT', kind: 'integer', min: 1, description: 'Milliseconds a client may take to send its headers.' }),
  S({ key: 'requestTimeoutMs', flag: 'request-timeout', env: 'BIZAUTH_REQUEST_TIMEOUT', kind: 'integer', min: 1, description: 'Milliseconds a client may take to send a whole request.' }),
  S({ key: 'keepAliveTimeoutMs', flag: 'keep-alive-timeout', env: 'BIZAUTH_KEEP_ALIVE_TIMEOUT', kind: 'integer', min: 1, description: 'Milliseconds an idle keep-alive connection stays open.' }),
  S({ key: 'maxConnections', flag: 'max-connections', env: 'BIZAUTH_MAX_CONNECTIONS', kind: 'integer', min: 1, description: 'Most simultaneous connections; further ones are refused.' }),
  S({ key: 'credentialCacheTtlSeconds', flag: 'credential-cache-ttl', env: 'BIZAUTH_CREDENTIAL_CACHE_TTL', kind: 'integer', min: 0, description: 'Seconds a verified password is remembered (keyed hash only); 0 disables the cache.' }),
  S({ key: 'credentialCacheMaxEntries', flag: 'credential-cache-size', env: 'BIZAUTH_CREDENTIAL_CACHE_SIZE', kind: 'integer', min: 1, description: 'Most entries in the verified-credential cache.' }),
  S({ key: 'hashConcurrency', flag: 'hash-concurrency', env: 'BIZAUTH_HASH_CONCURRENCY', kind: 'integer', min: 1, description: 'argon2id checks run at once, each on a worker thread below the event loop in priority (default: the core count).' }),
  S({ key: 'hashQueueMax', flag: 'hash-queue', env: 'BIZAUTH_HASH_QUEUE', kind: 'integer', min: 0, description: 'argon2id checks allowed to wait; beyond it requests get 3008 at once.' }),
  S({ key: 'lockoutThreshold', flag: 'lockout-threshold', env: 'BIZAUTH_LOCKOUT_THRESHOLD', kind: 'integer', min: 0, description: 'Consecutive wrong passwords that lock an account (0: never).' }),
  S({ key: 'lockoutBaseSeconds', flag: 'lockout-seconds', env: 'BIZAUTH_LOCKOUT_SECONDS', kind: 'integer', min: 1, description: 'First lock duration; it doubles on each repeat.' }),
  S({ key: 'lockoutMaxSeconds', flag: 'lockout-max-seconds', env: 'BIZAUTH_LOCKOUT_MAX_SECONDS', kind: 'integer', min: 1, description: 'Longest lock duration.' }),
  S({ key: 'ipFailureLimit', flag: 'ip-failure-limit', env: 'BIZAUTH_IP_FAILURE_LIMIT', kind: 'integer', min: 0, description: 'Failures of any kind from one client IP within the window that block it (0: never).' }),
  S({ key: 'ipFailureWindowSeconds', flag: 'ip-failure-window', env: 'BIZAUTH_IP_FAILURE_WINDOW', kind: 'integer', min: 1, description: 'The window of --ip-failure-limit, in seconds.' }),
  S({ key: 'ipBlockSeconds', flag: 'ip-block-seconds', env: 'BIZAUTH_IP_BLOCK_SECONDS', kind: 'integer', min: 1, description: 'How long a blocked client IP gets 3008.' }),
  S({ key: 'issuanceRatePerMinute', flag: 'issuance-rate', env: 'BIZAUTH_ISSUANCE_RATE', kind: 'integer', min: 0, description: 'Tokens one account may be issued per minute (token bucket; 0: unlimited).' }),
  S({ key: 'uniformAuthErrors', flag: 'uniform-auth-errors', env: 'BIZAUTH_UNIFORM_AUTH_ERRORS', kind: 'boolean', description: 'Answer 3001 instead of 3006/3007, in equal time (hides which accounts exist).' }),
  S({ key: 'keyRotationIntervalDays', flag: 'key-rotation-days', env: 'BIZAUTH_KEY_ROTATION_DAYS', kind: 'integer', min: 0, description: 'Rotate the signing key automatically every N days (0: never).' }),
  S({ key: 'keyPromotionDelaySeconds', flag: 'key-promotion-delay', env: 'BIZAUTH_KEY_PROMOTION_DELAY', kind: 'integer', min: 0, description: 'Seconds a new key is published before it signs, so verifiers see it first.' }),
  S({ key: 'keyRefreshSeconds', flag: 'key-refresh', env: 'BIZAUTH_KEY_REFRESH', kind: 'integer', min: 1, description: 'Seconds between reloads of the key set from the store.' }),
  S({ key: 'readinessTimeoutMs', flag: 'readiness-timeout', env: 'BIZAUTH_READINESS_TIMEOUT', kind: 'integer', min: 1, description: 'Milliseconds /health/ready waits for the store before answering 503.' }),
  S({ key: 'shutdownGraceMs', flag: 'shutdown-grace', env: 'BIZAUTH_SHUTDOWN_GRACE', kind: 'integer', min: 1, description: 'Milliseconds SIGTERM waits for requests in flight and the store; then the process exits anyway.' }),
]

/**
 * How the store behaves when the database is slow or unreachable: taken by every command that
 * opens the store (`--help` of each lists them), so a CLI command cannot hang where the server would not.
 */
export const STORE_TIMEOUT_SETTINGS: readonly SettingSpec<keyof StoreTimeouts>[] = [
  S({ key: 'databaseConnectTimeoutMs', flag: 'database-connect-timeout', env: 'BIZAUTH_DATABASE_CONNECT_TIMEOUT', kind: 'integer', min: 1, description: 'PostgreSQL: milliseconds to wait for a pooled connection or for a new one to connect.' }),
  S({ key: 'databaseStatementTimeoutMs', flag: 'database-statement-timeout', env: 'BIZAUTH_DATABASE_STATEMENT_TIMEOUT', kind: 'integer', min: 1, description: 'PostgreSQL: longest statement in milliseconds, enforced by the server and by the client (a stalled connection is then discarded).' }),
  S({ key: 'databaseKeepaliveMs', flag: 'database-keepalive', env: 'BIZAUTH_DATABASE_KEEPALIVE', kind: 'integer', min: 0, description: 'PostgreSQL: milliseconds of idle before the first TCP keepalive probe (0: keepalive off).' }),
  S({ key: 'sqliteBusyTimeoutMs', flag: 'sqlite-busy-timeout', env: 'BIZAUTH_SQLITE_BUSY_TIMEOUT', kind: 'integer', min: 0, description: "SQLite: milliseconds a write retries another process's write lock (without blocking the server) before it fails." }),
]

export type StoreTimeouts = Pick<ServerConfig, 'databaseConnectTimeoutMs' | 'databaseStatementTimeoutMs' | 'databaseKeepaliveMs' | 'sqliteBusyTimeoutMs'>

/** The store timeouts from flags (keyed by flag name), then environment, then `base`; validated like every setting. */
export function resolveStoreTimeouts(flags: RawValues, env: Record<string, string | undefined>, base: StoreTimeouts = DEFAULTS): StoreTimeouts {
  const timeouts: Record<string, unknown> = {}
  for (const spec of STORE_TIMEOUT_SETTINGS) {
    const raw = flags[spec.flag] ?? env[spec.env]
    timeouts[spec.key] = raw === undefined ? base[spec.key] : parseSetting(spec, raw)
  }
  return Object.freeze(timeouts as unknown as StoreTimeouts)
}

/** argon2 parameters are three settings of their own. */
export const ARGON2_SETTINGS = [
  { param: 'memoryCost', flag: 'argon2-memory', env: 'BIZAUTH_ARGON2_MEMORY', min: 1024, description: 'argon2id memory, KiB.' },
  { param: 'timeCost', flag: 'argon2-time', env: 'BIZAUTH_ARGON2_TIME', min: 1, description: 'argon2id iterations.' },
  { param: 'parallelism', flag: 'argon2-parallelism', env: 'BIZAUTH_ARGON2_PARALLELISM', min: 1, description: 'argon2id lanes.' },
] as const

/** Store location settings, shared by every command. */
export const STORE_SETTINGS = [
  { key: 'dataDir', flag: 'data-dir', env: 'BIZAUTH_DATA_DIR', description: 'Directory of the embedded SQLite store.' },
  { key: 'databaseUrl', flag: 'database-url', env: 'BIZAUTH_DATABASE_URL', description: 'postgres://… to use PostgreSQL instead of SQLite.' },
] as const

/** Environment-only settings (secrets never go through argv). */
export const SECRET_ENV = {
  keyEncryptionKey: { env: 'BIZAUTH_KEY_ENCRYPTION_KEY', description: 'Encrypts private keys at rest (AES-256-GCM); any string of 32+ characters, or 64 hex digits.' },
} as const

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

export type RawValues = Record<string, string | boolean | undefined>

function parseInteger(spec: { flag: string; env: string; min?: number; max?: number }, text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new ConfigError(`--${spec.flag} (${spec.env}) must be a whole number, got "${text}"`)
  const value = Number(text.trim())
  if (spec.min !== undefined && value < spec.min) throw new ConfigError(`--${spec.flag} (${spec.env}) must be at least ${spec.min}, got ${value}`)
  if (spec.max !== undefined && value > spec.max) throw new ConfigError(`--${spec.flag} (${spec.env}) must be at most ${spec.max}, got ${value}`)
  return value
}

function parseBoolean(spec: SettingSpec, raw: string | boolean): boolean {
  if (typeof raw === 'boolean') return raw
  const text = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(text)) return true
  if (['0', 'false', 'no', 'off', ''].includes(text)) return false
  throw new ConfigError(`--${spec.flag} (${spec.env}) must be true or false, got "${raw}"`)
}

function parseSetting(spec: SettingSpec, raw: string | boolean): unknown {
  if (spec.kind === 'boolean') return parseBoolean(spec, raw)
  const text = String(raw)
  switch (spec.kind) {
    case 'string':
      if (text === '') throw new ConfigError(`--${spec.flag} (${spec.env}) must not be empty`)
      return text
    case 'integer':
      return parseInteger(spec, text)
    case 'choice':
      if (!spec.choices?.includes(text)) throw new ConfigError(`--${spec.flag} (${spec.env}) must be one of ${spec.choices?.join(', ')}, got "${text}"`)
      return text
    case 'cidrs':
      try {
        return parseCidrList(text)
      } catch (error) {
        throw new ConfigError(`--${spec.flag} (${spec.env}): ${(error as Error).message}`)
      }
  }
}

/**
 * Builds a frozen ServerConfig: defaults, then environment, then flags (flags win).
 * `flags` are keyed by flag name (`trust-proxy`), `env` by variable name.
 */
export function resolveServerConfig(flags: RawValues, env: Record<string, string | undefined>, defaults: Partial<ServerConfig> = {}): ServerConfig {
  const config: Record<string, unknown> = { ...DEFAULTS, ...defaults, argon2: { ...DEFAULTS.argon2, ...defaults.argon2 } }
  const pick = (flag: string, variable: string): string | boolean | undefined => flags[flag] ?? env[variable]

  for (const spec of SERVE_SETTINGS) {
    const raw = pick(spec.flag, spec.env)
    if (raw !== undefined) config[spec.key] = parseSetting(spec, raw)
  }
  for (const spec of STORE_SETTINGS) {
    const raw = pick(spec.flag, spec.env)
    if (typeof raw === 'string' && raw !== '') config[spec.key] = raw
  }
  Object.assign(config, resolveStoreTimeouts(flags, env, config as unknown as StoreTimeouts))
  const argon2 = config.argon2 as Record<string, number>
  for (const spec of ARGON2_SETTINGS) {
    const raw = pick(spec.flag, spec.env)
    if (raw !== undefined) argon2[spec.param] = parseInteger(spec, String(raw))
  }
  const kek = env[SECRET_ENV.keyEncryptionKey.env]
  if (kek !== undefined && kek !== '') config.keyEncryptionKey = kek

  const result = config as unknown as ServerConfig
  if ((result.tlsCert === undefined) !== (result.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert and --tls-key go together: give both to serve HTTPS, or neither')
  }
  if (result.lockoutMaxSeconds < result.lockoutBaseSeconds) {
    throw new ConfigError('--lockout-max-seconds must be at least --lockout-seconds')
  }
  return deepFreeze(result)
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/** A config for tests and embedding: defaults plus overrides, validated the same way. */
export function defineServerConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return resolveServerConfig({}, {}, overrides)
}
