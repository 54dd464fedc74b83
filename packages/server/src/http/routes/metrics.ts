/** `GET /metrics`: Prometheus text format. */
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../services.js'

export function registerMetricsRoute(app: FastifyInstance, services: Services): void {
  const { registry } = services.metrics
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType).header('cache-control', 'no-store')
    return registry.metrics()
  })
}
