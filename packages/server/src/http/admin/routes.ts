/**
 * What every admin route file receives: the access checks as Fastify pre-handlers (the caller
 * they found is kept on the request for the handler) and the OpenAPI tags/security of a route.
 */
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import type { Services } from '../../services.js'
import type { AuditWriter } from '../../store/store.js'
import type { AdminCaller } from './caller.js'
import { ADMIN_ERRORS } from './schemas.js'

export interface AdminRoutes {
  /** Any admin or viewer. */
  read: preHandlerAsyncHookHandler
  /** Admins only. */
  write: preHandlerAsyncHookHandler
  /** A route's OpenAPI tag, its Bearer security and the refusals every admin route can give. */
  tags(tag: string): { tags: string[]; security: Array<Record<string, string[]>>; response?: never }
}

const callers = new WeakMap<FastifyRequest, AdminCaller>()

export function rememberCaller(request: FastifyRequest, caller: AdminCaller): void {
  callers.set(request, caller)
}

/** The caller the pre-handler admitted (the audit trail's actor and source). */
export function callerOf(request: FastifyRequest): AdminCaller {
  const caller = callers.get(request)
  if (!caller) throw new Error('an admin route ran without its access check')
  return caller
}

/** Whom the audit trail records for this request's change: the admin account, from its address. */
export function auditFor(services: Pick<Services, 'auditWriter'>, request: FastifyRequest): AuditWriter {
  const caller = callerOf(request)
  return services.auditWriter({ type: 'admin', id: caller.account.id }, caller.clientIp)
}

export { ADMIN_ERRORS }
