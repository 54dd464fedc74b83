/**
 * Issuing an access token (contract.md §1): a JWT signed with the ring's current key,
 * `exp = iat + 86400`, and `expired` — the same instant in KST.
 *
 * Issuance writes nothing to the store: revocation works from the account's valid-after
 * instant and a list of revoked jtis, so the store does not grow with each token.
 */
import type { KeyRing } from '../keys/key-ring.js'
import { formatKst } from './kst.js'
import { TOKEN_LIFETIME_SECONDS } from './lifetime.js'
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
}

/**
 * `iat` comes from the authentication (accounts/authenticate.ts), not from the clock at signing:
 * it is when the account was read, so any revoking change committed after that read revokes
 * this token, however long the request waited in between (issue 13 §1).
 */
export async function issueAccessToken(keys: KeyRing, options: IssueOptions, accountId: string, iat: number): Promise<IssuedToken> {
  const key = keys.current
  const exp = iat + TOKEN_LIFETIME_SECONDS
  const jti = newTokenId()
  const accesstoken = await key.signer.signJwt({ iss: options.issuer, sub: accountId, iat, exp, jti })
  return { response: { accesstoken, type: 'Bearer', expired: formatKst(exp) }, jti, iat, exp, kid: key.kid }
}
