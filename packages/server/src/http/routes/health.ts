/**
 * Liveness (the process answers) and readiness (the store answers, within --readiness-timeout).
 * Readiness never hangs and never says ready while the store cannot answer: past its deadline
 * it answers 503 with the contract's 9000 body. A way down in use (Redis out: per-instance
 * counters) does not make the instance unready, since it still serves every request; the body
 * names it (`"degraded":["redis"]`) for whoever looks.
 */
import type { FastifyInstance } from 'fastify'
import { withDeadline } from '../../deadline.js'
import { ContractError } from '../../errors.js'
import type { Services } from '../../services.js'
import { failureLogOf } from '../failure-log.js'
import { sendContractError, sendJson } from '../render-error.js'

export function registerHealthRoutes(app: FastifyInstance, services: Services): void {
  app.get('/health/live', async (_request, reply) => {
    return sendJson(reply, '{"status":"ok"}')
  })

  // Concurrent probes share one ping: a stuck store then holds one pooled connection for
  // readiness, not one per probe (30 probes at once used to starve the pool).
  let pinging: Promise<void> | undefined
  const ping = (): Promise<void> =>
    (pinging ??= services.store.ping().finally(() => {
      pinging = undefined
    }))

  app.get('/health/ready', async (request, reply) => {
    try {
      await withDeadline(ping(), services.config.readinessTimeoutMs, 'the store ping')
    } catch (error) {
      failureLogOf(request).report(error, 'store does not answer')
      return sendContractError(reply, new ContractError('9000', 'The store does not answer.'), 503)
    }
    const degraded = services.degraded()
    return sendJson(reply, degraded.length === 0 ? '{"status":"ready"}' : JSON.stringify({ status: 'ready', degraded }))
  })
}
