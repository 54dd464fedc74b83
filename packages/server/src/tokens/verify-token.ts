/**
 * Verifying our own access tokens on the server (introspection, revocation): the signature
 * with jose against the KeyRing, then the revocation checks of docs/wire.md.
 *
 *   1. longer than maxTokenLength ..................... too_large (checked before any parsing)
 *   2. not three base64url segments .................... malformed
 *   3. kid unknown (after one rate-limited key reload) .. unknown_kid
 *   4. header alg differs from the key's alg, bad signature, typ, iss, exp, nbf .. invalid / expired
 *   5. jti revoked ..................................... revoked_jti
 *   6. iat before the account's valid-after instant ..... revoked_account
 *   7. the account no longer exists ..................... account_missing
 *
 * Verified tokens are cached until their exp in a bounded LRU Map, so a repeated check costs
 * two Map lookups: the revocation checks (in memory, fed by the store's feed) still run on
 * every hit, so a revocation seen by this instance is never answered from the cache.
 */
import { errors as joseErrors, jwtVerify, type JWTHeaderParameters, type JWTPayload } from 'jose'
import type { KeyRing } from '../keys/key-ring.js'
import type { LoadedKey } from '../keys/key-material.js'
import type { RevocationState } from '../revocation/revocation-state.js'
import type { Store } from '../store/store.js'

export interface AccessTokenClaims {
  iss: string
  sub: string
  iat: number
  exp: number
  jti: string
}

export type InactiveReason = 'too_large' | 'malformed' | 'unknown_kid' | 'invalid' | 'expired' | 'revoked_jti' | 'revoked_account' | 'account_missing'

export type TokenVerdict = { active: true; claims: AccessTokenClaims } | { active: false; reason: InactiveReason }

export interface TokenVerifierOptions {
  issuer: string
  /** Leeway for exp and nbf between this server's clock and the issuing instance's. */
  clockToleranceSeconds: number
  /** Longer tokens are refused before any parsing (ours are ~250 characters). */
  maxTokenLength: number
  cacheMaxEntries: number
  /** At most one key reload per this interval for unknown kids (a rotation by another instance). */
  unknownKidRefreshIntervalMs: number
}

export const TOKEN_VERIFIER_DEFAULTS = Object.freeze({
  clockToleranceSeconds: 5,
  maxTokenLength: 8192,
  cacheMaxEntries: 10_000,
  unknownKidRefreshIntervalMs: 1000,
})

export interface TokenVerifierDeps {
  keys: KeyRing
  store: Store
  revocations: RevocationState
}

/** Counters for tests and metrics: observe the cache by counting, never by timing. */
export interface TokenVerifierStats {
  signatureChecks: number
  cacheHits: number
  keyReloads: number
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const ALGORITHMS = ['EdDSA', 'ES256', 'HS256']

class UnknownKidError extends Error {
  override readonly name = 'UnknownKidError'
}

const inactive = (reason: InactiveReason): TokenVerdict => ({ active: false, reason })

export class TokenVerifier {
  readonly #deps: TokenVerifierDeps
  readonly #options: TokenVerifierOptions
  /** token -> claims; Map order is recency (a hit moves the entry to the end). */
  readonly #cache = new Map<string, AccessTokenClaims>()
  #lastKeyReloadMs = Number.NEGATIVE_INFINITY
  readonly stats: TokenVerifierStats = { signatureChecks: 0, cacheHits: 0, keyReloads: 0 }

  constructor(deps: TokenVerifierDeps, options: Partial<TokenVerifierOptions> & Pick<TokenVerifierOptions, 'issuer'>) {
    this.#deps = deps
    this.#options = { ...TOKEN_VERIFIER_DEFAULTS, ...options }
  }

  get cachedTokens(): number {
    return this.#cache.size
  }

  async verify(token: string, nowMs: number = Date.now()): Promise<TokenVerdict> {
    if (token.length > this.#options.maxTokenLength) return inactive('too_large')
    const nowSeconds = nowMs / 1000
    const cached = this.#cache.get(token)
    if (cached !== undefined) {
      this.stats.cacheHits++
      if (cached.exp + this.#options.clockToleranceSeconds <= nowSeconds) {
        this.#cache.delete(token)
        return inactive('expired')
      }
      const revoked = this.#revokedInMemory(cached)
      if (revoked) return inactive(revoked)
      this.#cache.delete(token)
      this.#cache.set(token, cached)
      return { active: true, claims: cached }
    }
    if (!COMPACT_JWS.test(token)) return inactive('malformed')

    const verified = await this.#verifySignature(token, nowMs)
    if (!verified.active) return verified
    const revoked = this.#revokedInMemory(verified.claims) ?? (await this.#revokedInStore(verified.claims))
    if (revoked) return inactive(revoked)
    this.#remember(token, verified.claims)
    return verified
  }

  /** Drops cached tokens (tests; a key removal does not need it: the keys outlive their tokens). */
  clearCache(): void {
    this.#cache.clear()
  }

  async #verifySignature(token: string, nowMs: number): Promise<TokenVerdict> {
    this.stats.signatureChecks++
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, (header) => this.#resolveKey(header, nowMs), {
        issuer: this.#options.issuer,
        algorithms: ALGORITHMS,
        typ: 'JWT',
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        clockTolerance: this.#options.clockToleranceSeconds,
        currentDate: new Date(nowMs),
      }))
    } catch (error) {
      if (error instanceof UnknownKidError) return inactive('unknown_kid')
      if (error instanceof joseErrors.JWTExpired) return inactive('expired')
      if (error instanceof joseErrors.JOSEError) return inactive(error instanceof joseErrors.JWSInvalid ? 'malformed' : 'invalid')
      // Bad segments can surface as plain TypeErrors/SyntaxErrors from decoding; still a bad token.
      if (error instanceof TypeError || error instanceof SyntaxError) return inactive('malformed')
      throw error
    }
    const { iss, sub, iat, exp, jti } = payload
    if (typeof iss !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || !Number.isFinite(iat) || !Number.isFinite(exp)) {
      return inactive('invalid')
    }
    return { active: true, claims: { iss, sub, iat: iat!, exp: exp!, jti } }
  }

  /** The header's alg must be the key's own: no HS256 "signed" with a public key's bytes. */
  async #resolveKey(header: JWTHeaderParameters, nowMs: number): Promise<LoadedKey['verificationKey']> {
    const { kid } = header
    if (typeof kid !== 'string' || kid === '' || kid.length > 128) throw new UnknownKidError()
    const key = this.#deps.keys.find(kid) ?? (await this.#reloadKeysFor(kid, nowMs))
    if (!key) throw new UnknownKidError()
    if (header.alg !== key.alg) throw new joseErrors.JOSEAlgNotAllowed('the token alg does not match its key')
    return key.verificationKey
  }

  /**
   * A key made current by `keys rotate --now` elsewhere signs before this instance's next
   * periodic refresh; one reload per interval finds it without letting unknown kids hammer the store.
   */
  async #reloadKeysFor(kid: string, nowMs: number): Promise<LoadedKey | undefined> {
    if (nowMs - this.#lastKeyReloadMs < this.#options.unknownKidRefreshIntervalMs) return undefined
    this.#lastKeyReloadMs = nowMs
    this.stats.keyReloads++
    try {
      await this.#deps.keys.refresh()
    } catch {
      return undefined
    }
    return this.#deps.keys.find(kid)
  }

  #revokedInMemory(claims: AccessTokenClaims): InactiveReason | undefined {
    const { revocations } = this.#deps
    if (revocations.isJtiRevoked(claims.jti)) return 'revoked_jti'
    if (claims.iat < revocations.validAfter(claims.sub)) return 'revoked_account'
    return undefined
  }

  /**
   * On a cache miss the store is asked too, so a revocation made elsewhere a moment ago (before
   * the follower's next poll) already counts; deleted accounts are caught here.
   */
  async #revokedInStore(claims: AccessTokenClaims): Promise<InactiveReason | undefined> {
    const { store } = this.#deps
    const account = await store.getAccount(claims.sub)
    if (!account) return 'account_missing'
    if (claims.iat < account.tokensValidAfter) return 'revoked_account'
    if (await store.isJtiRevoked(claims.jti)) return 'revoked_jti'
    return undefined
  }

  #remember(token: string, claims: AccessTokenClaims): void {
    if (this.#options.cacheMaxEntries <= 0) return
    if (this.#cache.size >= this.#options.cacheMaxEntries) {
      const oldest = this.#cache.keys().next().value
      if (oldest !== undefined) this.#cache.delete(oldest)
    }
    this.#cache.set(token, claims)
  }
}
