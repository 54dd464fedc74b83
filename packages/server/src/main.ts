/**
 * startServer(config): open the store, migrate, build the services and the app, listen.
 * close(): stop gracefully — in-flight requests finish, then timers stop, then the store closes —
 * within --shutdown-grace; past it, close() rejects with a DeadlineError and the caller exits anyway.
 * Signal handling belongs to the CLI (`bizauth serve`), the only place that exits.
 */
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { buildApp } from './app.js'
import { buildAdminApp } from './http/admin/app.js'
import { SETTINGS, type ServerConfig } from './config.js'
import { withDeadline } from './deadline.js'
import { createServices, type ServiceOptions, type Services } from './services.js'
import { openStore } from './store/open.js'
import type { Store } from './store/store.js'

export interface RunningServer {
  url: string
  store: Store
  services: Services
  app: FastifyInstance
  /** The admin listener (admin API, console, /metrics); undefined with --admin-port off. */
  admin: { url: string; app: FastifyInstance } | undefined
  close(): Promise<void>
}

export interface StartOptions extends Pick<ServiceOptions, 'counters'> {
  logger?: Logger
}

/**
 * Never logs a credential: the Authorization header is not part of any log line, and these paths are redacted in case.
 *
 * stdout is written asynchronously: with an access line per request (issue 11 §2), one
 * write(2) per line cost more than the warm token path itself; buffered, lines written while
 * a write is pending go out together. pino flushes the buffer synchronously when the process
 * exits; only a SIGKILL can lose the last lines.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { service: 'bizauth' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'password', 'token', 'accesstoken'], censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false }),
  )
}

export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel)
  const store = await openStore(config)
  let services: Services | undefined
  try {
    await store.migrate()
    services = await createServices(config, store, { counters: options.counters, logger, defaultMetrics: true })
    if (config.keyEncryptionKey === undefined) {
      logger.warn(`${SETTINGS.keyEncryptionKey.env} is not set: signing keys are stored unencrypted. Set it (64 hex digits, or a passphrase of 32+ characters) to encrypt them at rest.`)
    }
    if (config.auditKey === undefined) {
      logger.warn(`${SETTINGS.auditKey.env} is not set: the audit trail is sealed with plain SHA-256, so anyone who can write to the database could rewrite it undetected. Set it (the same value for the server and every CLI) to seal it with HMAC-SHA-256.`)
    }
    const app = await buildApp(services, { logger })
    const url = await listen(app, config.host, config.port, config.tlsCert !== undefined)
    let admin: RunningServer['admin']
    if (config.adminPort !== 'off') {
      let adminApp: FastifyInstance | undefined
      try {
        adminApp = await buildAdminApp(services, { logger })
        admin = { app: adminApp, url: await listen(adminApp, config.adminHost, config.adminPort, (config.adminTlsCert ?? config.tlsCert) !== undefined) }
      } catch (error) {
        await adminApp?.close()
        await app.close()
        // So that a start failure names the admin listener's address and flag, not the public one's.
        if (error instanceof Error) Object.assign(error, { listener: 'admin' })
        throw error
      }
      logger.info({ url: admin.url }, 'admin listening')
    }
    // Last: "listening" means every listener answers.
    logger.info({ url, store: store.dialect }, 'listening')

    let closing: Promise<void> | undefined
    const running: Services = services
    return {
      url,
      store,
      services: running,
      app,
      admin,
      close() {
        closing ??= (async () => {
          const graceful = (async () => {
            await Promise.all([app.close(), admin?.app.close()])
            await running.stop()
            await store.close()
          })()
          try {
            await withDeadline(graceful, config.shutdownGraceMs, 'the graceful stop (requests in flight, timers, store)')
          } catch (error) {
            logger.warn({ err: { type: (error as Error).name, message: (error as Error).message } }, 'stop did not finish in time')
            throw error
          }
          logger.info('stopped')
        })()
        return closing
      },
    }
  } catch (error) {
    await services?.stop()
    await store.close()
    throw error
  }
}

/** Listens and returns the URL the listener answers on (port 0: the port it got). */
async function listen(app: FastifyInstance, host: string, port: number, tls: boolean): Promise<string> {
  await app.listen({ host, port })
  const address = app.server.address()
  const bound = typeof address === 'object' && address ? address.port : port
  return `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}`
}
