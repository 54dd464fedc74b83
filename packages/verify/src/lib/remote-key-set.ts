import { verifierUnavailable } from '../errors.js'
import type { KeySet } from './static-key-set.js'
import { importJwk, type VerificationKey } from './verification-key.js'

export interface RemoteKeySetSettings {
  readonly url: URL
  /** At most one fetch per this many ms, whatever asks for it: unknown kids cannot hammer the server. */
  readonly refetchIntervalMs: number
  readonly timeoutMs: number
  /** How long a JWKS stays fresh when the answer has no `Cache-Control: max-age`. */
  readonly defaultMaxAgeMs: number
  readonly fetch: typeof fetch
  readonly now: () => number
  readonly onError: (error: Error) => void
}

const MAX_JWKS_BYTES = 1024 * 1024
const MAX_FRESHNESS_MS = 24 * 60 * 60 * 1000
const NONE: readonly VerificationKey[] = Object.freeze([])

/**
 * The server's `/.well-known/jwks.json` (wire.md), cached. A known kid is answered from memory,
 * refreshed in the background once the document's max-age has passed. An unknown kid waits for
 * one refetch, if the rate limit allows one; concurrent callers share the same request.
 */
export class RemoteKeySet implements KeySet {
  private byKid = new Map<string, readonly VerificationKey[]>()
  private loadedOnce = false
  private freshUntil = 0
  private lastAttemptAt = Number.NEGATIVE_INFINITY
  private inFlight: Promise<boolean> | undefined
  /** How many HTTP requests were made; for tests and metrics. */
  fetchCount = 0

  constructor(private readonly settings: RemoteKeySetSettings) {}

  candidatesFor(kid: string | undefined): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    const known = kid === undefined ? undefined : this.byKid.get(kid)
    if (known !== undefined) {
      if (this.settings.now() >= this.freshUntil) void this.refreshIfAllowed()
      return known
    }
    return this.candidatesAfterRefetch(kid)
  }

  private async candidatesAfterRefetch(kid: string | undefined): Promise<readonly VerificationKey[]> {
    const refreshed = await this.refreshIfAllowed()
    const found = (kid === undefined ? undefined : this.byKid.get(kid)) ?? NONE
    // With no JWKS loaded, or the refetch just made failing, nothing can be said about the token:
    // the verifier is down, not the token bad (9000, not 3002).
    if (found.length === 0 && (!this.loadedOnce || refreshed === false)) throw verifierUnavailable('jwks_unavailable')
    return found
  }

  /** Resolves true after a successful fetch, false after a failed one, undefined if rate-limited. */
  private refreshIfAllowed(): Promise<boolean | undefined> {
    if (this.inFlight !== undefined) return this.inFlight
    if (this.settings.now() - this.lastAttemptAt < this.settings.refetchIntervalMs) return Promise.resolve(undefined)
    this.lastAttemptAt = this.settings.now()
    this.inFlight = this.fetchKeys().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  private async fetchKeys(): Promise<boolean> {
    this.fetchCount++
    try {
      const response = await this.settings.fetch(this.settings.url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.settings.timeoutMs),
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`JWKS answered HTTP ${response.status}`)
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS document is too large')
      this.byKid = this.importKeys(JSON.parse(text))
      this.loadedOnce = true
      this.freshUntil = this.settings.now() + this.freshnessMs(response.headers.get('cache-control'))
      return true
    } catch (error) {
      this.settings.onError(new Error('could not fetch the JWKS', { cause: error }))
      return false
    }
  }

  private importKeys(document: unknown): Map<string, readonly VerificationKey[]> {
    const keys = (document as { keys?: unknown } | null)?.keys
    if (!Array.isArray(keys)) throw new Error('JWKS document has no "keys" array')
    const byKid = new Map<string, VerificationKey[]>()
    for (const jwk of keys) {
      try {
        const key = importJwk(jwk, false)
        // wire.md: every published key has a kid; one without cannot be selected safely.
        if (key.kid === undefined) continue
        byKid.set(key.kid, [...(byKid.get(key.kid) ?? []), key])
      } catch (error) {
        // One key this verifier cannot use (another algorithm, say) must not hide the others.
        this.settings.onError(new Error('skipped a JWKS key', { cause: error }))
      }
    }
    return byKid
  }

  private freshnessMs(cacheControl: string | null): number {
    const maxAge = cacheControl === null ? undefined : /(?:^|[,\s])max-age=(\d+)/i.exec(cacheControl)?.[1]
    const ms = maxAge === undefined ? this.settings.defaultMaxAgeMs : Number(maxAge) * 1000
    return Math.min(Math.max(ms, this.settings.refetchIntervalMs), MAX_FRESHNESS_MS)
  }
}
