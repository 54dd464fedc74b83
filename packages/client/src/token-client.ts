import { basicAuthorization } from './basic-auth.js'
import { BizauthError, scrubSecrets } from './errors.js'
import { MemoryTokenStore } from './memory-token-store.js'
import { requestTokenOnce } from './request-token.js'
import { withRetries, type RetryEvent, type RetryPolicy } from './retry.js'
import { parseTokenAnswer } from './token-response.js'
import { isStoredToken, tokenStoreKey, type StoredToken, type TokenStore } from './token-store.js'

export const DEFAULT_BASE_URL = 'https://api.bizppurio.com'

export interface TokenClientOptions {
  account: string
  password: string
  /** Default 'https://api.bizppurio.com'. Never defaults to staging. */
  baseUrl?: string
  /** Refresh when less than this is left. Default 3600. */
  refreshMarginSeconds?: number
  /** The whole token request, body included. Default 10000. */
  timeoutMs?: number
  /** Extra attempts, only for retryable failures. Default 3. */
  retries?: number
  /** Default: a new MemoryTokenStore. */
  store?: TokenStore
  /** For custom TLS (a private CA), proxies and tests. Default: the global fetch. */
  fetch?: typeof fetch
  /** A token was issued by the service (not read from the cache or the store). */
  onTokenIssued?: (event: TokenIssuedEvent) => void
  /** Getting a token failed (or storing it did). The error is also thrown unless a still-valid token was used. */
  onRefreshError?: (error: BizauthError) => void
  /** A retryable failure is about to be retried after `delayMs`. */
  onRetry?: (event: RetryEvent) => void
}

/** What `getToken()` resolves to. */
export interface Token {
  accessToken: string
  type: 'Bearer'
  /** When the token stops working: the earlier of `expired` and the JWT's `exp`. */
  expiresAt: Date
  /** The service's `expired`, verbatim: KST `yyyyMMddHHmmss`. */
  expired: string
}

/** Carries no token, so a logger can print it whole. */
export interface TokenIssuedEvent {
  baseUrl: string
  account: string
  expiresAt: Date
  expired: string
}

/** Test seams. Not part of the public API (index.ts does not export it). */
export interface TokenClientInternals {
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  baseBackoffMs?: number
  maxBackoffMs?: number
  maxRetryAfterMs?: number
}

/**
 * "Just before expiry": a token that arrives with less than the margin left is used until this
 * long before it expires (or a tenth of its life, if shorter), and is not refreshed at once; a
 * refresh that returns such a token again would otherwise loop.
 */
const EXPIRY_SAFETY_MS = 30_000
/** After a failed refresh while the old token still works, the next refresh waits this long. */
const REFRESH_COOLDOWN_MS = 30_000
type HookName = 'onTokenIssued' | 'onRefreshError' | 'onRetry'
const TOKEN_REJECTION_CODES: ReadonlySet<string> = new Set(['3002', '3005'])

export class TokenClient {
  readonly #account: string
  readonly #password: string
  readonly #baseUrl: string
  readonly #tokenUrl: string
  readonly #storeKey: string
  readonly #refreshMarginMs: number
  readonly #timeoutMs: number
  readonly #store: TokenStore
  readonly #fetch: typeof fetch
  readonly #retryPolicy: RetryPolicy
  readonly #now: () => number
  readonly #hooks: Pick<TokenClientOptions, HookName>

  #cached: StoredToken | undefined
  #inflight: Promise<StoredToken> | undefined
  /** The last token the service (or the caller) rejected: never handed out again, even from the store. */
  #rejectedAccessToken: string | undefined
  #refreshCooldownUntilMs = 0

  constructor(options: TokenClientOptions, internals: TokenClientInternals = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('TokenClient needs options')
    const { account, password } = options
    if (typeof account !== 'string' || account.length === 0) throw new TypeError('account must be a non-empty string')
    // RFC 7617: the account ends at the first ':', so an account cannot contain one.
    if (account.includes(':')) throw new TypeError('account must not contain ":"')
    if (typeof password !== 'string' || password.length === 0) throw new TypeError('password must be a non-empty string')
    this.#account = account
    this.#password = password
    this.#baseUrl = normalizeBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL)
    this.#tokenUrl = `${this.#baseUrl}/v1/token`
    this.#storeKey = tokenStoreKey(this.#baseUrl, account)
    this.#refreshMarginMs = nonNegative(options.refreshMarginSeconds, 3600, 'refreshMarginSeconds') * 1000
    this.#timeoutMs = positive(options.timeoutMs, 10_000, 'timeoutMs')
    this.#store = options.store ?? new MemoryTokenStore()
    const fetchImplementation = options.fetch ?? globalThis.fetch
    if (typeof fetchImplementation !== 'function') throw new TypeError('no fetch: pass options.fetch')
    this.#fetch = fetchImplementation
    this.#now = internals.now ?? Date.now
    this.#hooks = { onTokenIssued: options.onTokenIssued, onRefreshError: options.onRefreshError, onRetry: options.onRetry }
    this.#retryPolicy = {
      retries: Math.floor(nonNegative(options.retries, 3, 'retries')),
      baseBackoffMs: internals.baseBackoffMs ?? 200,
      maxBackoffMs: internals.maxBackoffMs ?? 10_000,
      maxRetryAfterMs: internals.maxRetryAfterMs ?? 60_000,
      sleep: internals.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: internals.random ?? Math.random,
      onRetry: (event) => this.#emit('onRetry', event),
    }
  }

  get baseUrl(): string {
    return this.#baseUrl
  }

  get account(): string {
    return this.#account
  }

  /**
   * A token with more than the margin left, from this client, then the store, then the service.
   * Concurrent calls share one request; with a shared store, so do processes.
   */
  async getToken(): Promise<Token> {
    const cached = this.#cached
    if (cached !== undefined && this.#isFresh(cached)) return publicToken(cached)
    let flight = this.#inflight
    if (flight === undefined) {
      flight = this.#refresh()
      this.#inflight = flight
      const settled = (): void => {
        if (this.#inflight === flight) this.#inflight = undefined
      }
      flight.then(settled, settled)
    }
    return publicToken(await flight)
  }

  /** `Bearer <token>`, for an Authorization header. */
  async authorization(): Promise<string> {
    const token = await this.getToken()
    return `${token.type} ${token.accessToken}`
  }

  /**
   * fetch with the Authorization header added. When the answer is HTTP 400 with code 3002 or 3005
   * (contract.md §3; not 401, see §5), the token is dropped, a new one issued and the request sent
   * once more. A second rejection is thrown as a BizauthError; it never loops. Other answers are
   * returned untouched.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const first = await this.#sendWithToken(input, init)
    const firstRejection = await this.#readTokenRejection(first.response)
    if (firstRejection === undefined) return first.response
    this.#forget(first.accessToken)
    if (init?.body instanceof ReadableStream) {
      // A stream body was consumed by the first attempt and cannot be sent again.
      throw new BizauthError(firstRejection.code, firstRejection.description, { httpStatus: 400, retryable: true })
    }
    const second = await this.#sendWithToken(input, init)
    const secondRejection = await this.#readTokenRejection(second.response)
    if (secondRejection === undefined) return second.response
    this.#forget(second.accessToken)
    throw secondRejection
  }

  /** Forgets the cached token: the next getToken() asks the service (or finds a newer one in the store). */
  invalidate(): void {
    const dropped = this.#cached
    this.#cached = undefined
    this.#inflight = undefined
    this.#refreshCooldownUntilMs = 0
    if (dropped !== undefined) this.#forget(dropped.accessToken)
  }

  toJSON(): { baseUrl: string; account: string } {
    return { baseUrl: this.#baseUrl, account: this.#account }
  }

  toString(): string {
    return `[TokenClient ${this.#account} at ${this.#baseUrl}]`
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `TokenClient { baseUrl: '${this.#baseUrl}', account: '${this.#account}' }`
  }

  // ---- the steps ----

  /** When a token should be replaced; see EXPIRY_SAFETY_MS for tokens born with less than the margin. */
  #refreshAtMs(token: StoredToken): number {
    const lifetimeMs = token.expiresAtMs - token.receivedAtMs
    if (lifetimeMs > this.#refreshMarginMs) return token.expiresAtMs - this.#refreshMarginMs
    return token.expiresAtMs - Math.max(0, Math.min(EXPIRY_SAFETY_MS, lifetimeMs / 10))
  }

  #isFresh(token: StoredToken): boolean {
    return token.accessToken !== this.#rejectedAccessToken && this.#now() < this.#refreshAtMs(token)
  }

  /** Still accepted by the service, though due for refresh. */
  #isUsable(token: StoredToken): boolean {
    return token.accessToken !== this.#rejectedAccessToken && this.#now() < token.expiresAtMs - Math.min(EXPIRY_SAFETY_MS, (token.expiresAtMs - token.receivedAtMs) / 10)
  }

  async #refresh(): Promise<StoredToken> {
    const previous = this.#cached
    if (previous !== undefined && this.#isUsable(previous) && this.#now() < this.#refreshCooldownUntilMs) return previous
    try {
      const token = await this.#freshTokenFromStoreOrService()
      this.#cached = token
      return token
    } catch (error) {
      const failure = asStoreOrClientError(error, [this.#password])
      this.#emit('onRefreshError', failure)
      if (previous !== undefined && this.#isUsable(previous)) {
        // The old token still works: use it, and do not hammer a failing service on every call.
        this.#refreshCooldownUntilMs = this.#now() + REFRESH_COOLDOWN_MS
        return previous
      }
      throw failure
    }
  }

  async #freshTokenFromStoreOrService(): Promise<StoredToken> {
    const stored = await this.#readStore()
    if (stored !== undefined && this.#isFresh(stored)) return stored
    return this.#store.withLock(this.#storeKey, async () => {
      // Another process (or client) may have refreshed while we waited for the lock.
      const storedNow = await this.#readStore()
      if (storedNow !== undefined && this.#isFresh(storedNow)) return storedNow
      const issued = await withRetries(this.#retryPolicy, () => this.#issueTokenOnce())
      this.#refreshCooldownUntilMs = 0
      this.#emit('onTokenIssued', {
        baseUrl: this.#baseUrl,
        account: this.#account,
        expiresAt: new Date(issued.expiresAtMs),
        expired: issued.expired,
      })
      try {
        await this.#store.set(this.#storeKey, issued)
      } catch (error) {
        // The token is good even if sharing it failed; report, and use it.
        this.#emit('onRefreshError', asStoreOrClientError(error, [this.#password, issued.accessToken]))
      }
      return issued
    })
  }

  async #readStore(): Promise<StoredToken | undefined> {
    const record = await this.#store.get(this.#storeKey)
    return isStoredToken(record) ? record : undefined
  }

  async #issueTokenOnce(): Promise<StoredToken> {
    const answer = await requestTokenOnce({
      tokenUrl: this.#tokenUrl,
      authorization: basicAuthorization(this.#account, this.#password),
      timeoutMs: this.#timeoutMs,
      fetch: this.#fetch,
      nowMs: this.#now,
    })
    try {
      return parseTokenAnswer(answer, this.#now())
    } catch (error) {
      throw asStoreOrClientError(error, [this.#password])
    }
  }

  async #sendWithToken(input: string | URL | Request, init: RequestInit | undefined): Promise<{ response: Response; accessToken: string }> {
    const token = await this.getToken()
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    headers.set('authorization', `${token.type} ${token.accessToken}`)
    const request = input instanceof Request ? input.clone() : input
    try {
      const response = await this.#fetch(request, { ...init, headers })
      return { response, accessToken: token.accessToken }
    } catch (error) {
      if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) throw error
      throw new BizauthError('NETWORK', scrubSecrets(`the request failed: ${(error as Error)?.message ?? 'unknown'}`, [token.accessToken, this.#password]), { cause: error })
    }
  }

  /** The 3002/3005 rejection in an answer, if it is one. Reads a copy, so the caller's body stays unread. */
  async #readTokenRejection(response: Response): Promise<BizauthError | undefined> {
    if (response.status !== 400) return undefined
    let text: string
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      text = await Promise.race([
        response.clone().text(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('timeout')), this.#timeoutMs) }),
      ])
    } catch {
      return undefined
    } finally {
      clearTimeout(timer)
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return undefined
    }
    const code = (body as { code?: unknown } | null)?.code
    if ((typeof code !== 'string' && typeof code !== 'number') || !TOKEN_REJECTION_CODES.has(String(code))) return undefined
    const description = (body as { description?: unknown }).description
    return new BizauthError(String(code), typeof description === 'string' ? description : 'the token was rejected', { httpStatus: 400, retryable: false })
  }

  #forget(accessToken: string): void {
    this.#rejectedAccessToken = accessToken
    if (this.#cached?.accessToken === accessToken) this.#cached = undefined
    // Drop it from a shared store too, unless someone already replaced it.
    this.#store
      .withLock(this.#storeKey, async () => {
        const stored = await this.#store.get(this.#storeKey)
        if (stored?.accessToken === accessToken) await this.#store.delete(this.#storeKey)
      })
      .catch(() => {})
  }

  #emit<K extends HookName>(hook: K, event: Parameters<NonNullable<TokenClientOptions[K]>>[0]): void {
    try {
      ;(this.#hooks[hook] as ((value: typeof event) => void) | undefined)?.(event)
    } catch {
      // A failing logger or metrics hook must not break token handling.
    }
  }
}

function publicToken(token: StoredToken): Token {
  return { accessToken: token.accessToken, type: 'Bearer', expiresAt: new Date(token.expiresAtMs), expired: token.expired }
}

function asStoreOrClientError(error: unknown, secrets: readonly string[]): BizauthError {
  if (error instanceof BizauthError) {
    const description = scrubSecrets(error.description, secrets)
    if (description === error.description) return error
    return new BizauthError(error.code, description, { httpStatus: error.httpStatus, retryable: error.retryable, retryAfterMs: error.retryAfterMs })
  }
  const message = error instanceof Error ? error.message : 'unknown failure'
  return new BizauthError('STORE', scrubSecrets(`the token store failed: ${message}`, secrets), { cause: error, retryable: false })
}

function normalizeBaseUrl(baseUrl: string): string {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new TypeError('baseUrl is not a URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('baseUrl must be http: or https:')
  if (url.username !== '' || url.password !== '') throw new TypeError('baseUrl must not carry credentials')
  if (url.search !== '' || url.hash !== '') throw new TypeError('baseUrl must not have a query or fragment')
  return url.origin + url.pathname.replace(/\/+$/, '')
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`)
  return value
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}
