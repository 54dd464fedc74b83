/**
 * `POST /v1/token/revoke` (RFC 7009 in spirit, docs/wire.md): the holder revokes its own token,
 * presented as `Authorization: Bearer <token>`. A missing or malformed header is 3005, a token
 * that does not verify is 3002, and revoking a token twice answers 200 both times.
 */
import { isVerifyError, readBearerToken } from '@bizauth/verify/core'
import type { FastifyInstance } from 'fastify'
import { ContractError } from '../../errors.js'
import { revokeTokenById } from '../../revocation/revoke-token.js'
import { CLOCK_SKEW_SECONDS, type Services } from '../../services.js'
import { formatIpAddress } from '../../net/cidr.js'
import { resolveClientIp } from '../client-ip.js'
import { countAccountRequest } from '../rate-limit.js'
import { sendJson } from '../render-error.js'

const SEND_BEARER = 'Send the token to revoke as "Authorization: Bearer <token>".'

/**
 * The token of `Authorization: Bearer <token>`, by the grammar every verifier applies
 * (@bizauth/verify/core): a header that breaks it is 3005, a credential too long to be a token 3002.
 */
export function bearerTokenOf(authorization: string | undefined, maxTokenLength: number, howToSend = SEND_BEARER): string {
  try {
    return readBearerToken(authorization, maxTokenLength)
  } catch (error) {
    if (isVerifyError(error)) throw error.code === '3005' ? new ContractError('3005', howToSend) : new ContractError('3002')
    throw error
  }
}

export function registerRevokeRoute(app: FastifyInstance, services: Services): void {
  const { store, tokenVerifier, revocations, limits, config } = services

  app.post('/v1/token/revoke', async (request, reply) => {
    const token = bearerTokenOf(request.headers.authorization, tokenVerifier.maxTokenLength)
    const verdict = await tokenVerifier.verify(token)
    if (verdict.active) {
      // A holder flooding revocations writes to the store each time: it spends the same
      // per-account rate limit as its token requests (issue 13 §4, contract.md §6).
      await countAccountRequest(limits, verdict.claims.sub, reply)
      // The holder revokes its own token: the account is the actor, its address the source.
      const clientIp = resolveClientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], config.trustProxy)
      const audit = services.auditWriter({ type: 'account', id: verdict.claims.sub }, clientIp ? formatIpAddress(clientIp) : 'unknown')
      await revokeTokenById(store, verdict.claims.jti, verdict.claims.exp, CLOCK_SKEW_SECONDS, audit, revocations)
    } else if (verdict.revokedBy !== 'jti') {
      // Already revoked by jti is success (idempotent); anything else is not a token of ours.
      throw new ContractError('3002')
    }
    return sendJson(reply, '{"revoked":true}')
  })
}
