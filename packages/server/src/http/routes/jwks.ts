/**
 * `GET /.well-known/jwks.json`: every next, current and retired public key.
 * Five minutes of caching is well inside the promotion delay (ten minutes by default), so a
 * verifier's cache always holds a key before any token is signed with it.
 */
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../services.js'
import { sendJson } from '../render-error.js'

export function registerJwksRoute(app: FastifyInstance, services: Services): void {
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    return sendJson(reply, services.keys.jwksJson, { cacheControl: 'public, max-age=300' })
  })
}
