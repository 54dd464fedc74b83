/**
 * Revoking one token by its jti (POST /v1/token/revoke, `bizauth token revoke`).
 *
 * The row is kept only until the token would have expired, plus the clock-skew margin, and
 * then pruned: issuance writes nothing, so the store grows with revocations, never with tokens.
 */
import type { RevocationList } from '@bizauth/verify/core'
import type { Store } from '../store/store.js'

export async function revokeTokenById(
  store: Store,
  jti: string,
  tokenExp: number,
  clockSkewSeconds: number,
  localState?: RevocationList,
): Promise<void> {
  await store.revokeJti(jti, tokenExp, tokenExp + clockSkewSeconds)
  // This instance answers "revoked" at once; the others learn it from the feed.
  localState?.revokeToken(jti, tokenExp)
}
