/** Liveness (the process answers) and readiness (the store answers). */
import type { FastifyInstance } from 'fastify'
import { ContractError } from '../../errors.js'
import type { Services } from '../../services.js'
import { JSON_CONTENT_TYPE } from '../render-error.js'

export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  app.get('/health/live', async (_request, reply) => {
    reply.header('content-type', JSON_CONTENT_TYPE).header('cache-control', 'no-store')
    return '{"status":"ok"}'
  })

  app.get('/health/ready', async (request, reply) => {
    try {
      await services.store.ping()
    } catch (error) {
      request.log.warn({ err: { type: (error as Error).name, message: (error as Error).message } }, 'store does not answer')
      throw new ContractError('9000', 'The store does not answer.')
    }
    reply.header('content-type', JSON_CONTENT_TYPE).header('cache-control', 'no-store')
    return '{"status":"ready"}'
  })
}
