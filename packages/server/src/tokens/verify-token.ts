/**
 * Verifying our own access tokens on the server (introspection, revocation). What a valid token
 * is — JWS syntax, header, signature with the algorithm fixed by the key, claims — is decided by
 * `@bizauth/verify/core`, the very code resource servers run, so introspection and
 * `@bizauth/verify` give the same verdict with the same reason for every token. What stays here
 * is what only the server knows:
 *
 *   - its KeyRing, as the core's key set, reloaded once per interval for an unknown kid;
 *   - the revocations it has seen (the store's feed and its own, in the core's RevocationList);
 *   - the store itself, asked on every cache miss: the account exists, its tokens' valid-after
 *     instant, a jti revoked a moment ago and not yet in the feed.
 *
 * Reasons are the core's TokenFailureReason names, plus `account_missing`. The names before
 * issue 8 map onto them as: too_large, unknown_kid, expired unchanged; malformed -> malformed,
 * bad_base64url or bad_json; invalid -> alg_not_allowed, alg_mismatch, bad_signature,
 * typ_not_allowed, crit_unsupported, bad_issuer, missing_claim or not_yet_valid;
 * revoked_jti and revoked_account -> revoked (`revokedBy` tells which, for /v1/token/revoke);
 * issued_in_future and lifetime_too_long are new. `account_missing` has no verifier
 * equivalent: a verifier cannot see the store, and learns of a deletion from the account
 * revocation that precedes it in the feed (so it says `revoked`). `inactive` is the verifier's
 * name for an introspection answer and never comes from here.
 *
 * Verified tokens are cached until their exp in a bounded LRU map, so a repeated check costs
 * two Map lookups: the in-memory revocation check still runs on every hit, so a revocation seen
 * by this instance is never answered from the cache.
 */
import { createSecretKey } from 'node:crypto'
import {
  DEFAULTS,
  LruMap,
  importKeyInput,
  isVerifyError,
  verifySignedToken,
  type ClaimsPolicy,
  type KeySet,
  type RevocationList,
  type RevokedBy,
  type TokenFailureReason,
  type VerificationKey,
  type VerifiedClaims,
} from '@bizauth/verify/core'
import type { KeyRing } from '../keys/key-ring.js'
import type { LoadedKey } from '../keys/key-material.js'
import type { Store } from '../store/store.js'
import { TOKEN_LIFETIME_SECONDS } from './lifetime.js'

/** The claims of a token that verified; frozen, shared by every hit of the cache. */
export type AccessTokenClaims = VerifiedClaims

export type InactiveReason = TokenFailureReason | 'account_missing'

export type TokenVerdict =
  | { active: true; claims: AccessTokenClaims }
  /** `revokedBy` comes with `revoked`: a token revoked by its own jti, or by its account. */
  | { active: false; reason: InactiveReason; revokedBy?: RevokedBy }

export interface TokenVerifierOptions {
  issuer: string
  /** Leeway for exp, nbf, iat and the lifetime bound: the same default as @bizauth/verify's. */
  clockToleranceSeconds: number
  /** Longer tokens are refused before any parsing (ours are ~250 characters). */
  maxTokenLength: number
  /** Longer-lived tokens are refused: the contract's 24 h, like every verifier. */
  maxTokenLifetimeSeconds: number
  cacheMaxEntries: number
  /** At most one key reload per this interval for unknown kids (a rotation by another instance). */
  unknownKidRefreshIntervalMs: number
}

export const TOKEN_VERIFIER_DEFAULTS = Object.freeze({
  clockToleranceSeconds: DEFAULTS.clockToleranceSeconds,
  maxTokenLength: DEFAULTS.maxTokenLength,
  maxTokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS,
  cacheMaxEntries: DEFAULTS.cacheMaxEntries,
  unknownKidRefreshIntervalMs: 1000,
})

export interface TokenVerifierDeps {
  keys: KeyRing
  store: Store
  revocations: RevocationList
}

/** Counters for tests and metrics: observe the cache by counting, never by timing. */
export interface TokenVerifierStats {
  signatureChecks: number
  cacheHits: number
  keyReloads: number
}

/** No kid of ours is this long (a thumbprint is 43 characters): not worth a store reload. */
const MAX_KID_LENGTH = 128
const NO_KEYS: readonly VerificationKey[] = Object.freeze([])

const inactive = (reason: InactiveReason): TokenVerdict => ({ active: false, reason })
const revoked = (revokedBy: RevokedBy): TokenVerdict => ({ active: false, reason: 'revoked', revokedBy })

export class TokenVerifier {
  readonly #deps: TokenVerifierDeps
  readonly #options: TokenVerifierOptions
  readonly #policy: ClaimsPolicy
  readonly #keySet: KeyRingKeySet
  readonly #cache: LruMap<string, AccessTokenClaims>
  readonly stats: TokenVerifierStats = { signatureChecks: 0, cacheHits: 0, keyReloads: 0 }

  constructor(deps: TokenVerifierDeps, options: Partial<TokenVerifierOptions> & Pick<TokenVerifierOptions, 'issuer'>) {
    this.#deps = deps
    this.#options = { ...TOKEN_VERIFIER_DEFAULTS, ...options }
    const { issuer, clockToleranceSeconds, maxTokenLifetimeSeconds } = this.#options
    this.#policy = Object.freeze({ issuer, clockToleranceSeconds, maxTokenLifetimeSeconds })
    this.#keySet = new KeyRingKeySet(deps.keys, this.#options.unknownKidRefreshIntervalMs, this.stats)
    this.#cache = new LruMap(this.#options.cacheMaxEntries)
  }

  get cachedTokens(): number {
    return this.#cache.size
  }

  /** Where a Bearer credential is read (POST /v1/token/revoke), it is bounded by the same length. */
  get maxTokenLength(): number {
    return this.#options.maxTokenLength
  }

  async verify(token: string, nowMs: number = Date.now()): Promise<TokenVerdict> {
    if (token.length > this.#options.maxTokenLength) return inactive('too_large')
    const nowSeconds = nowMs / 1000
    const cached = this.#cache.get(token)
    if (cached !== undefined) {
      if (nowSeconds < cached.exp + this.#options.clockToleranceSeconds) {
        this.stats.cacheHits++
        const revokedBy = this.#deps.revocations.revocationOf(cached)
        return revokedBy === undefined ? { active: true, claims: cached } : revoked(revokedBy)
      }
      this.#cache.delete(token) // expired since: checked again below, so the reason is the core's
    }
    return this.#verifyUncached(token, nowSeconds)
  }

  /** Drops cached tokens (tests; a key removal does not need it: the keys outlive their tokens). */
  clearCache(): void {
    this.#cache.clear()
  }

  async #verifyUncached(token: string, nowSeconds: number): Promise<TokenVerdict> {
    this.stats.signatureChecks++
    let claims: AccessTokenClaims
    try {
      claims = await verifySignedToken(token, this.#keySet, this.#policy, nowSeconds)
    } catch (error) {
      // 3002 is the core's "not a valid token"; anything else is a fault of ours, not a verdict.
      if (isVerifyError(error) && error.code === '3002') return inactive(error.reason as TokenFailureReason)
      throw error
    }
    // Memory first, as on a cache hit: a deleted account's tokens are `revoked` once the feed
    // has brought the revocation that deletion writes, exactly as a verifier says.
    const revokedBy = this.#deps.revocations.revocationOf(claims) ?? (await this.#revokedInStore(claims))
    if (revokedBy === 'account_missing') return inactive('account_missing')
    if (revokedBy !== undefined) return revoked(revokedBy)
    this.#cache.set(token, claims)
    return { active: true, claims }
  }

  /**
   * On a cache miss the store is asked too, so a revocation made elsewhere a moment ago (before
   * the follower's next poll) already counts; deleted accounts are caught here.
   */
  async #revokedInStore(claims: AccessTokenClaims): Promise<RevokedBy | 'account_missing' | undefined> {
    const { store } = this.#deps
    const account = await store.getAccount(claims.sub)
    if (!account) return 'account_missing'
    if (claims.iat < account.tokensValidAfter) return 'account'
    if (await store.isJtiRevoked(claims.jti)) return 'jti'
    return undefined
  }
}

/**
 * The KeyRing as the core's key set: a kid's key, converted once into the core's verification
 * key (which fixes the algorithm from the key itself). A kid not in the ring may belong to a key
 * made current by `keys rotate --now` elsewhere, before this instance's next periodic refresh:
 * one reload per interval finds it without letting unknown kids hammer the store.
 */
class KeyRingKeySet implements KeySet {
  /** Keyed by the ring's key object, which survives the ring's refreshes of the same key. */
  readonly #converted = new WeakMap<LoadedKey['verificationKey'], VerificationKey>()
  #lastReloadMs = Number.NEGATIVE_INFINITY

  constructor(
    private readonly keys: KeyRing,
    private readonly reloadIntervalMs: number,
    private readonly stats: TokenVerifierStats,
  ) {}

  candidatesFor(kid: string | undefined): readonly VerificationKey[] | Promise<readonly VerificationKey[]> {
    if (kid === undefined || kid === '' || kid.length > MAX_KID_LENGTH) return NO_KEYS
    const key = this.keys.find(kid)
    return key === undefined ? this.#candidatesAfterReload(kid) : [this.#verificationKeyOf(key)]
  }

  async #candidatesAfterReload(kid: string): Promise<readonly VerificationKey[]> {
    const nowMs = Date.now()
    if (nowMs - this.#lastReloadMs < this.reloadIntervalMs) return NO_KEYS
    this.#lastReloadMs = nowMs
    this.stats.keyReloads++
    try {
      await this.keys.refresh()
    } catch {
      return NO_KEYS // the periodic refresh reports store failures; here it is an unknown kid
    }
    const key = this.keys.find(kid)
    return key === undefined ? NO_KEYS : [this.#verificationKeyOf(key)]
  }

  #verificationKeyOf(key: LoadedKey): VerificationKey {
    let converted = this.#converted.get(key.verificationKey)
    if (converted === undefined) {
      // jose hands the HS256 secret over as bytes, the asymmetric public keys as CryptoKeys.
      const material = key.verificationKey instanceof Uint8Array ? createSecretKey(key.verificationKey) : key.verificationKey
      converted = importKeyInput({ kid: key.kid, key: material })
      if (converted.alg !== key.alg) throw new Error(`signing key ${key.kid} is not an ${key.alg} key`)
      this.#converted.set(key.verificationKey, converted)
    }
    return converted
  }
}
