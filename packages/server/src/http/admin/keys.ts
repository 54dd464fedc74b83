/** GET /admin/v1/keys and POST /admin/v1/keys/rotate: `bizauth keys list` and `keys rotate`, over HTTP. */
import type { FastifyInstance } from 'fastify'
import { createKeyEncryption } from '../../keys/key-encryption.js'
import { keyViews, rotateSigningKey } from '../../keys/key-view.js'
import type { Services } from '../../services.js'
import { sendJson } from '../render-error.js'
import { auditFor, type AdminRoutes } from './routes.js'
import { KEY_LIST, ROTATE_BODY, ROTATED } from './schemas.js'

export function registerKeyRoutes(app: FastifyInstance, services: Services, { read, write, tags }: AdminRoutes): void {
  const { store, keys, config } = services
  const delay = config.keyPromotionDelaySeconds
  const encryption = createKeyEncryption(config.keyEncryptionKey)

  app.get(
    '/admin/v1/keys',
    { schema: { ...tags('keys'), summary: 'Every signing key: next, current, retired (never key material)', response: { 200: KEY_LIST } }, preHandler: read },
    async (_request, reply) => sendJson(reply, JSON.stringify({ keys: keyViews(await store.listKeys(), delay), promotion_delay_seconds: delay })),
  )

  app.post<{ Body: { now?: boolean } }>(
    '/admin/v1/keys/rotate',
    {
      schema: { ...tags('keys'), summary: 'Add a next key: published at once, current after the promotion delay (or at once with now)', body: ROTATE_BODY, response: { 200: ROTATED } },
      preHandler: write,
      config: { optionalBody: true },
    },
    async (request, reply) => {
      const rotated = await rotateSigningKey(store, { encryption, audit: auditFor(services, request) }, request.body.now === true)
      // This instance publishes it at once; the others on their next key refresh.
      await keys.refresh()
      const key = keyViews(await store.listKeys(), delay).find((view) => view.kid === rotated.kid)!
      return sendJson(reply, JSON.stringify({ key }))
    },
  )
}
