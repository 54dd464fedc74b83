/** GET /admin/v1/stats: what the console's overview draws, read from the live objects of this instance. */
import type { FastifyInstance } from 'fastify'
import { NoSigningKeyError } from '../../keys/key-ring.js'
import type { Services } from '../../services.js'
import { sendJson } from '../render-error.js'
import type { AdminRoutes } from './routes.js'
import { STATS } from './schemas.js'

export function registerStatsRoute(app: FastifyInstance, services: Services, { read, tags }: AdminRoutes): void {
  const { metrics, credentialCache, hashQueue, keys, config } = services
  app.get(
    '/admin/v1/stats',
    { schema: { ...tags('stats'), summary: 'The last hour of token requests per minute, the credential cache, the hash queue and the key age', response: { 200: STATS } }, preHandler: read },
    async (_request, reply) => {
      const now = Date.now()
      const { lookups, hits } = credentialCache.stats
      let currentKey: { kid: string; age_seconds: number } | null = null
      try {
        const current = keys.current
        const since = current.activatedAt ?? current.createdAt
        currentKey = { kid: current.kid, age_seconds: Math.max(0, Math.floor((now - since.getTime()) / 1000)) }
      } catch (error) {
        // No current key yet (a store that has none): the overview says so.
        if (!(error instanceof NoSigningKeyError)) throw error
      }
      return sendJson(
        reply,
        JSON.stringify({
          minutes: metrics.activity.lastHour(now),
          credential_cache: { lookups, hits, hit_ratio: lookups === 0 ? null : hits / lookups, entries: credentialCache.size },
          hash_queue: { running: hashQueue.running, waiting: hashQueue.waiting, max_waiting: config.hashQueueMax },
          current_key: currentKey,
        }),
      )
    },
  )
}
