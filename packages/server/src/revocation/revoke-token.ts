/**
 * Revoking one token by its jti (POST /v1/token/revoke, `bizauth token revoke`).
 *
 * The row is kept only until the token would have expired, plus the clock-skew margin, and
 * then pruned: issuance writes nothing, so the store grows with revocations, never with tokens.
 */
import type { RevocationList } from '@bizauth/verify/core'
import type { AuditWriter, Store } from '../store/store.js'

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
