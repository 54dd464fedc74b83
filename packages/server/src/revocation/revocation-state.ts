/**
 * What this instance knows has been revoked (docs/wire.md, the revocation feed), in memory so
 * that every introspection — cache hits included — checks it with two Map lookups.
 *
 * Fed by the RevocationFollower (the store's feed, so revocations made by the CLI or another
 * instance arrive within about a second) and directly by this instance's own revocations.
 */
import type { RevocationEvent } from '../store/store.js'

export interface RevocableClaims {
  readonly sub: string
  readonly jti: string
  readonly iat: number
}

export class RevocationState {
  /** jti -> the revoked token's exp (epoch seconds). */
  readonly #revokedJtis = new Map<string, number>()
  /** account id -> tokens with iat before this instant are revoked (epoch seconds). */
  readonly #accountValidAfter = new Map<string, number>()

  get revokedTokenCount(): number {
    return this.#revokedJtis.size
  }

  get revokedAccountCount(): number {
    return this.#accountValidAfter.size
  }

  revokeJti(jti: string, exp: number): void {
    this.#revokedJtis.set(jti, Math.max(exp, this.#revokedJtis.get(jti) ?? exp))
  }

  /** Never moves backwards: a replayed older event must not un-revoke tokens. */
  revokeAccountBefore(accountId: string, validAfter: number): void {
    this.#accountValidAfter.set(accountId, Math.max(validAfter, this.#accountValidAfter.get(accountId) ?? validAfter))
  }

  apply(event: RevocationEvent): void {
    if (event.kind === 'jti') this.revokeJti(event.subject, event.at)
    else this.revokeAccountBefore(event.subject, event.at)
  }

  isJtiRevoked(jti: string): boolean {
    return this.#revokedJtis.has(jti)
  }

  /** The valid-after instant this instance has seen for the account (0: none). */
  validAfter(accountId: string): number {
    return this.#accountValidAfter.get(accountId) ?? 0
  }

  isRevoked(claims: RevocableClaims): boolean {
    return this.#revokedJtis.has(claims.jti) || claims.iat < this.validAfter(claims.sub)
  }

  /**
   * Forgets what no live token can need: a jti whose token has expired, an account instant
   * older than the longest token life (every token issued before it has expired).
   */
  prune(nowSeconds: number, tokenTtlSeconds: number, skewSeconds: number): void {
    for (const [jti, exp] of this.#revokedJtis) if (exp + skewSeconds < nowSeconds) this.#revokedJtis.delete(jti)
    for (const [account, validAfter] of this.#accountValidAfter) {
      if (validAfter + tokenTtlSeconds + skewSeconds < nowSeconds) this.#accountValidAfter.delete(account)
    }
  }
}
