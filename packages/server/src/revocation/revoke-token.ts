/**
 * Revoking one token by its jti (POST /v1/token/revoke, `bizauth token revoke`).
 *
 * The row is kept only until the token would have expired, plus the clock-skew margin, and
 * then pruned: issuance writes nothing, so the store grows with revocations, never with tokens.
 */
import type { RevocationList } from '@bizauth/verify/core'
import type { AuditWriter, Store } from '../store/store.js'
import { TOKEN_LIFETIME_SECONDS } from '../tokens/lifetime.js'

const JTI = /^[A-Za-z0-9_-]{1,128}$/

/** A text that names no token: its message says what to give instead. */
export class RevocationTargetError extends Error {
  override readonly name = 'RevocationTargetError'
}

export interface RevocationTarget {
  jti: string
  /** When the token expires (or, for a bare jti, the latest it can). */
  exp: number
}

/**
 * What a revocation by an operator names (`bizauth token revoke`, POST /admin/v1/tokens/revoke):
 * a bare jti, kept as long as any token can live (now + 24 h), or a whole token, read without
 * verifying it (the operator revokes whatever it names; a forged one names nothing of value).
 */
export function revocationTarget(text: string, nowSeconds = Math.floor(Date.now() / 1000)): RevocationTarget {
  const value = text.trim()
  if (JTI.test(value)) return { jti: value, exp: nowSeconds + TOKEN_LIFETIME_SECONDS }
  const parts = value.split('.')
  if (parts.length !== 3) throw new RevocationTargetError('give a token (three dot-separated parts) or its jti (base64url)')
  let claims: { jti?: unknown; exp?: unknown }
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as typeof claims
  } catch {
    throw new RevocationTargetError("the token's payload is not base64url JSON; give its jti instead")
  }
  if (typeof claims?.jti !== 'string' || !JTI.test(claims.jti)) throw new RevocationTargetError('the token carries no usable jti; nothing revoked')
  // Unverified, so bounded: no token of ours lives past now + 24 h, and a forged exp must not
  // keep a row forever.
  const latest = nowSeconds + TOKEN_LIFETIME_SECONDS
  const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? Math.min(Math.floor(claims.exp), latest) : latest
  return { jti: claims.jti, exp }
}

/** Revokes the token and records `token.revoke` in the same transaction (issue 11 §1). */
export async function revokeTokenById(
  store: Store,
  jti: string,
  tokenExp: number,
  clockSkewSeconds: number,
  audit: AuditWriter,
  localState?: RevocationList,
): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.revokeJti(jti, tokenExp, tokenExp + clockSkewSeconds)
    // The token's own expiry, never the token: it is a secret until it expires.
    await tx.appendAuditEvent({ ...audit.context, action: 'token.revoke', target: jti, changes: { revoked: [false, true], exp: [null, tokenExp] } }, audit.seal)
  })
  // This instance answers "revoked" at once; the others learn it from the feed.
  localState?.revokeToken(jti, tokenExp)
}
