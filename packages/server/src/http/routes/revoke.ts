/**
 * `POST /v1/token/revoke` (RFC 7009 in spirit, docs/wire.md): the holder revokes its own token,
 * presented as `Authorization: Bearer <token>`. A missing or malformed header is 3005, a token
 * that does not verify is 3002, and revoking a token twice answers 200 both times.
 */
import type { FastifyInstance } from 'fastify'
import { ContractError } from '../../errors.js'
import { revokeTokenById } from '../../revocation/revoke-token.js'
import { CLOCK_SKEW_SECONDS, type Services } from '../../services.js'
import { JSON_CONTENT_TYPE } from '../render-error.js'

/** RFC 6750 §2.1: `Bearer` (case-insensitive scheme), one space, a b64token. */
const BEARER = /^bearer ([A-Za-z0-9\-._~+/]+=*)$/i

export function readBearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined
  return BEARER.exec(authorization)?.[1]
}

export function registerRevokeRoute(app: FastifyInstance, services: Services): void {
  const { store, tokenVerifier, revocations } = services

  app.post('/v1/token/revoke', async (request, reply) => {
    const token = readBearerToken(request.headers.authorization)
    if (token === undefined) throw new ContractError('3005', 'Send the token to revoke as "Authorization: Bearer <token>".')
    const verdict = await tokenVerifier.verify(token)
    if (verdict.active) {
      await revokeTokenById(store, verdict.claims.jti, verdict.claims.exp, CLOCK_SKEW_SECONDS, revocations)
    } else if (verdict.reason !== 'revoked_jti') {
      // Already revoked by jti is success (idempotent); anything else is not a token of ours.
      throw new ContractError('3002')
    }
    reply.header('content-type', JSON_CONTENT_TYPE).header('cache-control', 'no-store')
    return '{"revoked":true}'
  })
}
