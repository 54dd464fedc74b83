export interface RevocableClaims {
  readonly sub: string
  readonly iat: number
  readonly jti: string
}

export type RevokedBy = 'jti' | 'account'

/**
 * What this verifier knows has been revoked (wire.md, the revocations feed): single tokens by
 * `jti`, and for each account the instant before which its tokens no longer count. Both lookups
 * are one Map access, cheap enough to run on every cache hit. The server keeps its own view of
 * its store's feed in one of these too.
 */
export class RevocationList {
  private readonly jtiExpiries = new Map<string, number>()
  private readonly accountValidAfter = new Map<string, number>()

  /** The longest life of a bizauth token (wire.md: exp = iat + 86400); bounds the account map. */
  constructor(private readonly maxTokenLifetimeSeconds: number) {}

  get revokedTokenCount(): number {
    return this.jtiExpiries.size
  }

  get revokedAccountCount(): number {
    return this.accountValidAfter.size
  }

  revokeToken(jti: string, exp: number): void {
    this.jtiExpiries.set(jti, Math.max(exp, this.jtiExpiries.get(jti) ?? exp))
  }

  revokeAccountBefore(sub: string, validAfter: number): void {
    // Revocations only ever widen; a replayed older event must not shorten one.
    this.accountValidAfter.set(sub, Math.max(validAfter, this.accountValidAfter.get(sub) ?? validAfter))
  }

  isRevoked(claims: RevocableClaims): boolean {
    return this.revocationOf(claims) !== undefined
  }

  /** Which revocation catches the token, if any: its own `jti`, or its account's instant. */
  revocationOf(claims: RevocableClaims): RevokedBy | undefined {
    if (this.jtiExpiries.has(claims.jti)) return 'jti'
    const validAfter = this.accountValidAfter.get(claims.sub)
    return validAfter !== undefined && claims.iat < validAfter ? 'account' : undefined
  }

  isTokenRevoked(jti: string): boolean {
    return this.jtiExpiries.has(jti)
  }

  /** Drops what can no longer matter: tokens that have expired anyway. */
  prune(nowSeconds: number, toleranceSeconds: number): void {
    for (const [jti, exp] of this.jtiExpiries) if (exp + toleranceSeconds < nowSeconds) this.jtiExpiries.delete(jti)
    for (const [sub, validAfter] of this.accountValidAfter) {
      // Every token issued before validAfter has expired by validAfter + its lifetime.
      if (validAfter + this.maxTokenLifetimeSeconds + toleranceSeconds < nowSeconds) this.accountValidAfter.delete(sub)
    }
  }
}
