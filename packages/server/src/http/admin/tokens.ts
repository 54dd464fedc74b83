/** POST /admin/v1/tokens/revoke: `bizauth token revoke`, over HTTP. The token itself is never echoed. */
import type { FastifyInstance } from 'fastify'
import { AdminInputError } from '../../errors.js'
import { RevocationTargetError, revocationTarget, revokeTokenById, type RevocationTarget } from '../../revocation/revoke-token.js'
import { CLOCK_SKEW_SECONDS, type Services } from '../../services.js'
import { sendJson } from '../render-error.js'
import { auditFor, type AdminRoutes } from './routes.js'
import { REVOKE_TOKEN_BODY, TOKEN_REVOKED } from './schemas.js'

export function registerTokenRoutes(app: FastifyInstance, services: Services, { write, tags }: AdminRoutes): void {
  const { store, revocations } = services
  app.post<{ Body: { jti?: string; token?: string } }>(
    '/admin/v1/tokens/revoke',
    { schema: { ...tags('tokens'), summary: 'Revoke one token, by its jti or the token itself', body: REVOKE_TOKEN_BODY, response: { 200: TOKEN_REVOKED } }, preHandler: write },
    async (request, reply) => {
      const field = request.body.jti !== undefined ? 'jti' : 'token'
      let target: RevocationTarget
      try {
        target = revocationTarget(request.body.jti ?? request.body.token ?? '')
      } catch (error) {
        if (error instanceof RevocationTargetError) throw AdminInputError(field, error.message)
        throw error
      }
      await revokeTokenById(store, target.jti, target.exp, CLOCK_SKEW_SECONDS, auditFor(services, request), revocations)
      const keptUntil = new Date((target.exp + CLOCK_SKEW_SECONDS) * 1000).toISOString()
      return sendJson(reply, JSON.stringify({ revoked: true, jti: target.jti, kept_until: keptUntil }))
    },
  )
}
