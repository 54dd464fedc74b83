/**
 * buildAdminApp(services): the admin listener's application (issue 10 §1): the admin API under
 * /admin/v1, its OpenAPI document, the console, /metrics, the health endpoints and POST /v1/token
 * (so the console signs in on its own origin). It never listens; main.ts does.
 *
 * Its answers go through the public app's error handling; what only the admin API has is
 * translated here: a body that does not match its schema, and the administration service's
 * errors, become `{"code","description"}` naming the field, 404, 409 or 412.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AccountInputError, AccountVersionMismatchError, AllowedIpNotListedError } from '../../accounts/administration.js'
import { createContractApp, type AppOptions } from '../../app.js'
import { AuditFilterError } from '../../store/audit-listing.js'
import { AdminInputError, DuplicateAccountError, StaleAccountVersionError, UnknownAccountError } from '../../errors.js'
import { registerHealthRoutes } from '../routes/health.js'
import { registerMetricsRoute } from '../routes/metrics.js'
import { registerTokenRoute } from '../routes/token.js'
import type { Services } from '../../services.js'
import { AccountExistsError, AccountMissingError } from '../../store/store.js'
import { errorHandler, sendContractError, sendJson } from '../render-error.js'
import { registerAccountRoutes } from './accounts.js'
import { registerAuditRoute } from './audit.js'
import { adminCallerCheck, type AdminAccess } from './caller.js'
import { registerConsole, registerSecurityHeaders } from './console.js'
import { OPENAPI_PATH, mergedDocument, registerDocumentation } from './document.js'
import { registerKeyRoutes } from './keys.js'
import { rememberCaller, type AdminRoutes } from './routes.js'
import { registerStatsRoute } from './stats.js'
import { registerTokenRoutes } from './tokens.js'
import { ADMIN_ERRORS } from './schemas.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's body may be left out; it is then `{}`. */
    optionalBody?: boolean
  }
}

const API_VERSION = '1'

interface ValidationIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** The field an Ajv issue is about, as the client wrote it: `allowed_ips`, `roles`, `if-match`, `body`. */
function fieldOf(issue: ValidationIssue, context: string | undefined): string {
  if (issue.keyword === 'additionalProperties') {
    // The client's own text: quoted when it would not read as a name, and bounded.
    const name = String(issue.params.additionalProperty)
    return /^[\w.-]{1,64}$/.test(name) ? name : JSON.stringify(name.slice(0, 64))
  }
  if (issue.keyword === 'required') return String(issue.params.missingProperty)
  const first = issue.instancePath.split('/')[1]
  return first ? decodeURIComponent(first.replace(/~1/g, '/').replace(/~0/g, '~')) : context === 'body' ? 'body' : (context ?? 'request')
}

function whyOf(issue: ValidationIssue): string {
  switch (issue.keyword) {
    case 'additionalProperties':
      return 'is not a field of this request'
    case 'required':
      return 'is required'
    case 'minProperties':
    case 'maxProperties':
      return 'give exactly one of the fields'
    default:
      return issue.message ?? 'is invalid'
  }
}

/** The service's field names the API spells otherwise (its durations carry their unit). */
const API_FIELD_OF: Partial<Record<AccountInputError['field'], string>> = { keep_previous_for: 'keep_previous_for_seconds' }

/** The admin API's errors in the contract's form; everything else as the public app renders it. */
function adminErrorHandler(this: unknown, error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const validation = (error as FastifyError).validation as ValidationIssue[] | undefined
  if (validation?.[0]) {
    const issue = validation[0]
    return sendContractError(reply, AdminInputError(fieldOf(issue, (error as FastifyError).validationContext), whyOf(issue)))
  }
  if (error instanceof AccountInputError) return sendContractError(reply, AdminInputError(API_FIELD_OF[error.field] ?? error.field, error.message))
  if (error instanceof AuditFilterError) return sendContractError(reply, AdminInputError(error.field, error.message))
  if (error instanceof AllowedIpNotListedError) return sendContractError(reply, AdminInputError('allowed_ips', error.message))
  if (error instanceof AccountMissingError) return sendContractError(reply, UnknownAccountError(error.accountId))
  if (error instanceof AccountExistsError) return sendContractError(reply, DuplicateAccountError(error.accountId))
  if (error instanceof AccountVersionMismatchError) return sendContractError(reply, StaleAccountVersionError(error.accountId))
  return errorHandler.call(this, error, request, reply)
}

export async function buildAdminApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services
  const app = createContractApp(services, options, {
    tls: { cert: config.adminTlsCert ?? config.tlsCert, key: config.adminTlsKey ?? config.tlsKey },
    errorHandler: adminErrorHandler,
  })

  // JSON bodies for the admin API; any other body is read and dropped (as the public app does),
  // so a route with a body schema answers "body: must be object" for it.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: config.bodyLimitBytes }, (_request, text, done) => {
    if ((text as string).trim() === '') return done(null, undefined)
    try {
      done(null, JSON.parse(text as string))
    } catch {
      done(AdminInputError('body', 'is not valid JSON'), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_request, _body, done) => done(null, undefined))
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.optionalBody && request.body === undefined) request.body = {}
  })
  registerSecurityHeaders(app)
  await registerDocumentation(app, API_VERSION)

  const check = adminCallerCheck(services)
  const access = (level: AdminAccess) => async (request: FastifyRequest) => rememberCaller(request, await check(request, level))
  const routes: AdminRoutes = {
    read: access('read'),
    write: access('write'),
    tags: (tag) => ({ tags: [tag], security: [{ bearer: [] }] }),
  }
  // Every admin route documents the refusals its access check gives.
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/admin/v1/') || route.url === OPENAPI_PATH) return
    const schema = (route.schema ??= {}) as { response?: Record<string, unknown> }
    schema.response = { ...ADMIN_ERRORS, ...schema.response }
  })

  registerTokenRoute(app, services)
  registerHealthRoutes(app, services)
  registerMetricsRoute(app, services)
  registerAccountRoutes(app, services, routes)
  registerKeyRoutes(app, services, routes)
  registerTokenRoutes(app, services, routes)
  registerStatsRoute(app, services, routes)
  registerAuditRoute(app, services, routes)
  registerConsole(app)

  let document: string | undefined
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async (_request, reply) => {
    document ??= JSON.stringify(await mergedDocument(app, services, API_VERSION))
    return sendJson(reply, document)
  })
  return app
}
