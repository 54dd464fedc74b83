/**
 * buildApp(config, services): the Fastify application. It never listens, so tests inject
 * into it or put it behind a real socket themselves; main.ts does the listening.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerFactory } from 'fastify'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import type { ServerConfig } from './config.js'
import { NotFoundError, UnreadableRequestError } from './errors.js'
import { registerAccessLog, requestIdOf } from './http/access-log.js'
import { handleClientError } from './http/client-error.js'
import { errorHandler, sendContractError } from './http/render-error.js'
import { registerHealthRoutes } from './http/routes/health.js'
import { registerIntrospectRoute } from './http/routes/introspect.js'
import { registerRevocationsRoute } from './http/routes/revocations.js'
import { registerRevokeRoute } from './http/routes/revoke.js'
import { registerJwksRoute } from './http/routes/jwks.js'
import { registerTokenRoute } from './http/routes/token.js'
import type { Services } from './services.js'

export interface AppOptions {
  logger?: Logger | false
}

/** The Node server with every limit of issue 3 §5 applied, plain or TLS (the admin listener passes its own pair). */
export function serverFactory(config: ServerConfig, tls: { cert: string | undefined; key: string | undefined } = { cert: config.tlsCert, key: config.tlsKey }): FastifyServerFactory {
  return (handler) => {
    // Node enforces headersTimeout/requestTimeout only when it sweeps its connections, every
    // 30 s by default: a 10 s limit would really be up to 40 s. Sweep at a quarter of the limit.
    const connectionsCheckingInterval = Math.max(10, Math.min(1000, Math.floor(Math.min(config.headersTimeoutMs, config.requestTimeoutMs) / 4)))
    const common = {
      maxHeaderSize: config.maxHeaderBytes,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval,
      // Node answers a missing Host with a bare 400 and no body; the hook in buildApp answers it in the contract's form.
      requireHostHeader: false,
    }
    const server: Server =
      tls.cert !== undefined && tls.key !== undefined
        ? createHttpsServer({ ...common, cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler)
        : createHttpServer(common, handler)
    server.headersTimeout = config.headersTimeoutMs
    server.maxConnections = config.maxConnections
    // Fastify installs its own clientError listener (with its own body); ours replaces it after ready.
    return server
  }
}

/** What differs between the listeners: the certificate pair, and the admin API's translations before the one error handler. */
export interface ListenerOptions {
  tls?: { cert: string | undefined; key: string | undefined }
  errorHandler?: typeof errorHandler
}

/** What both listeners share: the server limits, the error handling, the contract's 5001 for unknown paths and the Host check. */
export function createContractApp(services: Services, options: AppOptions, listener: ListenerOptions = {}): FastifyInstance {
  const { config } = services
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    logger: options.logger === undefined || options.logger === false ? false : undefined,
    serverFactory: serverFactory(config, listener.tls),
    bodyLimit: config.bodyLimitBytes,
    // A request in flight when SIGTERM arrives finishes; Fastify's default 503 body is not the contract's.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Fastify's own two lines per request are replaced by one access line (http/access-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // The caller's X-Request-Id only when acceptable (access-log.ts), never whatever it sent.
    requestIdHeader: false,
    genReqId: requestIdOf,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 100 },
    // Validation (the admin API's bodies) checks what was sent: no coercion, no fields dropped or filled in.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    // Malformed URLs are resources that do not exist; Fastify's own 400 body is not the contract's.
    frameworkErrors: (_error: unknown, _request: unknown, reply: FastifyReply) => sendContractError(reply, NotFoundError()),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance

  registerAccessLog(app, { enabled: config.accessLog === 'on', trustProxy: config.trustProxy, metrics: services.metrics })
  app.setErrorHandler(listener.errorHandler ?? errorHandler)
  app.setNotFoundHandler((_request, reply) => sendContractError(reply, NotFoundError()))
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendContractError(reply, UnreadableRequestError('The request could not be read: HTTP/1.1 requires a Host header.'))
    }
  })
  app.addHook('onReady', async () => {
    app.server.removeAllListeners('clientError')
    app.server.on('clientError', handleClientError)
  })
  return app
}

export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services
  const app = createContractApp(services, options)
  // Request bodies are ignored whatever their type (issue 2 §2), up to bodyLimit: read and dropped.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.bodyLimitBytes }, (_request, _body, done) => done(null, undefined))

  registerPublicRoutes(app, services)
  return app
}

/** The public API's routes; the admin listener's OpenAPI document describes them from these very registrations. */
export function registerPublicRoutes(app: FastifyInstance, services: Services): void {
  registerTokenRoute(app, services)
  registerHealthRoutes(app, services)
  registerJwksRoute(app, services)
  registerIntrospectRoute(app, services)
  registerRevokeRoute(app, services)
  registerRevocationsRoute(app, services)
}
