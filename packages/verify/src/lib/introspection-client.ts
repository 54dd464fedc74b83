import { tokenInvalid, verifierUnavailable } from '../errors.js'
import { assertTimely, type VerifiedClaims } from './claims.js'

export interface IntrospectionSettings {
  /** `{url}/v1/token/introspect` */
  readonly introspectUrl: URL
  readonly authorization: string
  readonly issuer: string
  readonly clockToleranceSeconds: number
  readonly timeoutMs: number
  readonly fetch: typeof fetch
  readonly onError: (error: Error) => void
}

/**
 * Asks the server whether a token is active (RFC 7662, wire.md). `active:false` is a bad token
 * (3002); a server that cannot be asked, or answers anything else, is an unavailable verifier
 * (9000), never a good token.
 */
export async function introspectToken(token: string, settings: IntrospectionSettings, nowSeconds: number): Promise<VerifiedClaims> {
  let status: number
  let body: unknown
  try {
    const response = await settings.fetch(settings.introspectUrl, {
      method: 'POST',
      headers: {
        authorization: settings.authorization,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({ token }).toString(),
      signal: AbortSignal.timeout(settings.timeoutMs),
    })
    status = response.status
    body = await response.json().catch(() => undefined)
  } catch (error) {
    settings.onError(new Error('could not reach the introspection endpoint', { cause: error }))
    throw verifierUnavailable('introspection_unavailable')
  }
  const answer = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  if (status !== 200) {
    // wire.md: 400 3002 only when no token was sent; anything else is our credentials or the server.
    const code = typeof answer.code === 'string' ? ` code ${answer.code}` : ''
    settings.onError(new Error(`introspection answered HTTP ${status}${code}`))
    throw verifierUnavailable('introspection_unavailable')
  }
  if (answer.active !== true) throw tokenInvalid('inactive')
  return claimsFromIntrospection(answer, settings, nowSeconds)
}

function claimsFromIntrospection(answer: Record<string, unknown>, settings: IntrospectionSettings, nowSeconds: number): VerifiedClaims {
  const { iss, sub, iat, exp, jti } = answer
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
    settings.onError(new Error('introspection answer lacks sub, jti, iat or exp'))
    throw verifierUnavailable('introspection_unavailable')
  }
  if (iss !== undefined && iss !== settings.issuer) throw tokenInvalid('bad_issuer')
  // The server said active just now; the local clock still has its say on the edges.
  assertTimely({ iat, exp }, settings.clockToleranceSeconds, nowSeconds)
  return Object.freeze({ iss: settings.issuer, sub, iat, exp, jti })
}
