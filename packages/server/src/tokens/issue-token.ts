/**
 * Issuing an access token (contract.md §1): a JWT signed with the ring's current key,
 * `exp = iat + 86400`, and `expired` — the same instant in KST.
 *
 * Issuance writes nothing to the store: revocation works from the account's valid-after
 * instant and a list of revoked jtis, so the store does not grow with each token.
 */
import type { KeyRing } from '../keys/key-ring.js'
import type { Account } from '../store/store.js'
import { formatKst } from './kst.js'
import { newTokenId } from './token-id.js'

export interface TokenResponse {
  accesstoken: string
  type: 'Bearer'
  expired: string
}

export interface IssuedToken {
  response: TokenResponse
  jti: string
  iat: number
  exp: number
  kid: string
}

export interface IssueOptions {
  issuer: string
  ttlSeconds: number
}

export async function issueAccessToken(keys: KeyRing, options: IssueOptions, account: Account, nowMs: number): Promise<IssuedToken> {
  const key = keys.current
  // A token issued in the second its account's tokens were revoked must outlive that
  // revocation: revocation rejects iat < validAfter (docs/wire.md).
  const iat = Math.max(Math.floor(nowMs / 1000), account.tokensValidAfter)
  const exp = iat + options.ttlSeconds
  const jti = newTokenId()
  const accesstoken = await key.signer.signJwt({ iss: options.issuer, sub: account.id, iat, exp, jti })
  return { response: { accesstoken, type: 'Bearer', expired: formatKst(exp) }, jti, iat, exp, kid: key.kid }
}
