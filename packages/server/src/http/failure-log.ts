/** The failure log of each Fastify app: request-path failures (the error handler, readiness) report here. */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { FailureLog } from '../failure-log.js'

const logs = new WeakMap<FastifyInstance, FailureLog>()

/** The failure log of the app serving `request` (one per app, so tests' apps do not share counts). */
export function failureLogOf(request: FastifyRequest): FailureLog {
  let log = logs.get(request.server)
  if (log === undefined) {
    log = new FailureLog(request.server.log)
    logs.set(request.server, log)
  }
  return log
}
