import type { KeysOption } from './lib/static-key-set.js'
import type { ServerCredentials } from './lib/server-endpoint.js'

/** Follow the server's revocations feed and decide locally (wire.md). The default mode. */
export interface RevocationFeedOptions {
  readonly mode?: 'feed'
  /** The bizauth server's base URL. */
  readonly url: string | URL
  /** An account with the `introspect` role. */
  readonly credentials: ServerCredentials
  /** Time between two polls. Default 1000. */
  readonly pollIntervalMs?: number
  /** How long `verify()` waits for the first snapshot before answering 9000. Default 5000. */
  readonly initialSyncTimeoutMs?: number
}

/** Ask `POST /v1/token/introspect` about every token (needed for HS256 deployments). */
export interface IntrospectionOptions {
  readonly mode: 'introspect'
  readonly url: string | URL
  readonly credentials: ServerCredentials
  /** How long an `active:true` answer is reused: the most a revocation can go unseen. Default 2000. */
  readonly cacheMs?: number
}

/**
 * Every setting of `createVerifier`, with its default. Validated once, then frozen.
 */
export interface VerifierOptions {
  /** The `iss` every token must carry (the server's `BIZAUTH_ISSUER`; its default is `bizauth`). */
  readonly issuer: string
  /** The server's `/.well-known/jwks.json`. Either this or `keys`. */
  readonly jwksUrl?: string | URL
  /** Keys for offline use: a JWKS object, a JWK, a KeyObject/CryptoKey, `{ kid, key }`, or an array. */
  readonly keys?: KeysOption
  /** How revocations are learnt. `'introspect'` is the spelling; it takes `url` and `credentials` below. */
  readonly revocations?: RevocationFeedOptions | IntrospectionOptions | 'introspect'
  /** With `revocations: 'introspect'`: the server's base URL (default: derived from `jwksUrl`). */
  readonly url?: string | URL
  /** With `revocations: 'introspect'`. */
  readonly credentials?: ServerCredentials
  /** Leeway for exp, nbf and iat against this machine's clock. Default 5. */
  readonly clockToleranceSeconds?: number
  /** Longer credentials are refused before any parsing (3002 too_large). Default 8192. */
  readonly maxTokenLength?: number
  /** Tokens claiming a longer life are refused (wire.md: 86400). Default 86400. */
  readonly maxTokenLifetimeSeconds?: number
  /** The cache of verified tokens, kept until each token's exp. `false` turns it off. Default 10000 entries. */
  readonly cache?: { readonly maxEntries?: number } | false
  readonly jwks?: {
    /** At most one JWKS request per this interval, for unknown kids and refreshes alike. Default 10000. */
    readonly refetchIntervalMs?: number
    /** Freshness when the answer has no Cache-Control max-age. Default 300000. */
    readonly defaultMaxAgeMs?: number
  }
  /** Timeout of every request to the server. Default 5000. */
  readonly requestTimeoutMs?: number
  /** The fetch to use (tests, proxies). Default `globalThis.fetch`. */
  readonly fetch?: typeof fetch
  /** The clock in ms since the epoch. Default `Date.now`. */
  readonly now?: () => number
  /**
   * Background failures (JWKS, feed, introspection), for logs. They never carry a token or a
   * password. Default: ignored.
   */
  readonly onError?: (error: Error) => void
}

export type RevocationSettings =
  | { readonly mode: 'none' }
  | { readonly mode: 'feed'; readonly url: URL; readonly credentials: ServerCredentials; readonly pollIntervalMs: number; readonly initialSyncTimeoutMs: number }
  | { readonly mode: 'introspect'; readonly url: URL; readonly credentials: ServerCredentials; readonly cacheMs: number }

export interface VerifierSettings {
  readonly issuer: string
  readonly keys: { readonly kind: 'remote'; readonly url: URL } | { readonly kind: 'static'; readonly option: KeysOption } | { readonly kind: 'none' }
  readonly revocations: RevocationSettings
  readonly clockToleranceSeconds: number
  readonly maxTokenLength: number
  readonly maxTokenLifetimeSeconds: number
  readonly cacheMaxEntries: number
  readonly jwksRefetchIntervalMs: number
  readonly jwksDefaultMaxAgeMs: number
  readonly requestTimeoutMs: number
  readonly fetch: typeof fetch
  readonly now: () => number
  readonly onError: (error: Error) => void
}

export const DEFAULTS = Object.freeze({
  clockToleranceSeconds: 5,
  maxTokenLength: 8192,
  maxTokenLifetimeSeconds: 86_400,
  cacheMaxEntries: 10_000,
  jwksRefetchIntervalMs: 10_000,
  jwksDefaultMaxAgeMs: 300_000,
  requestTimeoutMs: 5_000,
  pollIntervalMs: 1_000,
  initialSyncTimeoutMs: 5_000,
  introspectionCacheMs: 2_000,
})

/** Defaults -> validate -> freeze. A wrong option is a programming error: TypeError at once. */
export function resolveVerifierOptions(options: VerifierOptions): VerifierSettings {
  if (typeof options !== 'object' || options === null) throw new TypeError('createVerifier needs an options object')
  if (typeof options.issuer !== 'string' || options.issuer === '') throw new TypeError('`issuer` must be a non-empty string')
  const revocations = resolveRevocations(options)
  const keys = resolveKeys(options, revocations.mode === 'introspect')
  return Object.freeze({
    issuer: options.issuer,
    keys,
    revocations,
    clockToleranceSeconds: nonNegative('clockToleranceSeconds', options.clockToleranceSeconds, DEFAULTS.clockToleranceSeconds),
    maxTokenLength: positive('maxTokenLength', options.maxTokenLength, DEFAULTS.maxTokenLength),
    maxTokenLifetimeSeconds: positive('maxTokenLifetimeSeconds', options.maxTokenLifetimeSeconds, DEFAULTS.maxTokenLifetimeSeconds),
    cacheMaxEntries: options.cache === false ? 0 : nonNegative('cache.maxEntries', options.cache?.maxEntries, DEFAULTS.cacheMaxEntries),
    jwksRefetchIntervalMs: nonNegative('jwks.refetchIntervalMs', options.jwks?.refetchIntervalMs, DEFAULTS.jwksRefetchIntervalMs),
    jwksDefaultMaxAgeMs: nonNegative('jwks.defaultMaxAgeMs', options.jwks?.defaultMaxAgeMs, DEFAULTS.jwksDefaultMaxAgeMs),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
    now: options.now ?? Date.now,
    onError: options.onError ?? (() => {}),
  })
}

function resolveKeys(options: VerifierOptions, introspecting: boolean): VerifierSettings['keys'] {
  if (options.jwksUrl !== undefined && options.keys !== undefined) throw new TypeError('give either `jwksUrl` or `keys`, not both')
  if (options.jwksUrl !== undefined) return { kind: 'remote', url: parseUrl('jwksUrl', options.jwksUrl) }
  if (options.keys !== undefined) return { kind: 'static', option: options.keys }
  // An HS256 deployment publishes no key (wire.md): introspection alone then decides.
  if (introspecting) return { kind: 'none' }
  throw new TypeError('give `jwksUrl` or `keys` (or use `revocations: "introspect"`)')
}

function resolveRevocations(options: VerifierOptions): RevocationSettings {
  const given = options.revocations
  if (given === undefined) return { mode: 'none' }
  if (given === 'introspect') {
    const url = options.url ?? serverUrlFromJwksUrl(options.jwksUrl)
    if (url === undefined) throw new TypeError('`revocations: "introspect"` needs `url` (the server base URL)')
    return { mode: 'introspect', url: parseUrl('url', url), credentials: checkCredentials(options.credentials), cacheMs: DEFAULTS.introspectionCacheMs }
  }
  if (typeof given !== 'object' || given === null) throw new TypeError('`revocations` must be an object or "introspect"')
  const url = parseUrl('revocations.url', given.url)
  const credentials = checkCredentials(given.credentials)
  if (given.mode === 'introspect') {
    return { mode: 'introspect', url, credentials, cacheMs: nonNegative('revocations.cacheMs', given.cacheMs, DEFAULTS.introspectionCacheMs) }
  }
  if (given.mode !== undefined && given.mode !== 'feed') throw new TypeError('`revocations.mode` must be "feed" or "introspect"')
  return {
    mode: 'feed',
    url,
    credentials,
    pollIntervalMs: positive('revocations.pollIntervalMs', given.pollIntervalMs, DEFAULTS.pollIntervalMs),
    initialSyncTimeoutMs: nonNegative('revocations.initialSyncTimeoutMs', given.initialSyncTimeoutMs, DEFAULTS.initialSyncTimeoutMs),
  }
}

/** `https://host/prefix/.well-known/jwks.json` -> `https://host/prefix/`. */
function serverUrlFromJwksUrl(jwksUrl: string | URL | undefined): string | undefined {
  if (jwksUrl === undefined) return undefined
  const text = String(jwksUrl)
  const suffix = '/.well-known/jwks.json'
  return text.endsWith(suffix) ? text.slice(0, -suffix.length + 1) : undefined
}

function checkCredentials(credentials: ServerCredentials | undefined): ServerCredentials {
  if (typeof credentials?.account !== 'string' || typeof credentials.password !== 'string' || credentials.account === '') {
    // Never echo the values: this message may reach a log.
    throw new TypeError('revocations need `credentials: { account, password }` of an account with the introspect role')
  }
  return Object.freeze({ account: credentials.account, password: credentials.password })
}

function parseUrl(name: string, value: unknown): URL {
  try {
    const url = new URL(String(value))
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)')
    return url
  } catch {
    throw new TypeError(`\`${name}\` must be an http(s) URL`)
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved <= 0) throw new TypeError(`\`${name}\` must be a positive number`)
  return resolved
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback
  if (typeof resolved !== 'number' || !Number.isFinite(resolved) || resolved < 0) throw new TypeError(`\`${name}\` must be a non-negative number`)
  return resolved
}
