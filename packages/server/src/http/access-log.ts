/**
 * Access records (issue 11 §2) and the request metrics (§3), from one hook at the end of every
 * request: one pino line with the request id, method, path, status, contract code, account id,
 * client IP, latency, whether the credential cache answered, and the jti issued.
 *
 * Never the password, the Authorization header or a token: routes that parse Basic credentials
 * hand over the account id alone (`noteCaller`), and only when it has an account id's shape.
 *
 * Routes add what only they know through `accessRecordOf(request)`; everything else is read
 * from the request and the reply here, once.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isValidAccountId } from '../accounts/account-id.js'
import type { Metrics, RequestOutcome } from '../metrics.js'
import type { PasswordCredentials } from '../accounts/authenticate.js'
import { formatIpAddress, type Cidr, type IpAddress } from '../net/cidr.js'
import { resolveClientIp } from './client-ip.js'

/** What a route learned that the access line reports. */
export interface AccessRecord {
  /** How the caller's password was decided; unset when it never was (refused before). */
  outcome?: Exclude<RequestOutcome, 'refused'>
  /** The jti of the token issued. */
  jti?: string
  /** The contract code of an error answer, read from its body. */
  code?: string
  /** The account id of the Basic header, when the route parsed one. */
  account?: string
  /** The client address the route resolved (else resolved here). */
  ip?: IpAddress
}

/** What a route that parsed Basic credentials and resolved the address tells the access line. */
export function noteCaller(request: FastifyRequest, credentials: PasswordCredentials | undefined, ip: IpAddress | undefined): AccessRecord {
  const record = accessRecordOf(request)
  // Only an id of the right shape: no stray secret typed into the id field, nothing that forges a line.
  if (credentials !== undefined && isValidAccountId(credentials.account)) record.account = credentials.account
  record.ip = ip
  return record
}

const records = new WeakMap<FastifyRequest, AccessRecord>()

export function accessRecordOf(request: FastifyRequest): AccessRecord {
  let record = records.get(request)
  if (record === undefined) {
    record = {}
    records.set(request, record)
  }
  return record
}

export const REQUEST_ID_HEADER = 'x-request-id'
/** At most 128 visible ASCII characters: anything else is replaced, never echoed. */
const ACCEPTABLE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/
const CODE_IN_BODY = /^\{"code":"(\d{4})"/
const MAX_LOGGED_PATH = 256

/** Fastify's `genReqId`: the caller's X-Request-Id when acceptable, else a fresh UUID. */
export function requestIdOf(raw: IncomingMessage): string {
  const given = raw.headers[REQUEST_ID_HEADER]
  return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : randomUUID()
}

/** The routes whose answers §3 counts and times, by the metric pair they go to. */
const MEASURED_ROUTES = { '/v1/token': 'token', '/v1/token/introspect': 'introspection' } as const

export interface AccessLogOptions {
  enabled: boolean
  trustProxy: readonly Cidr[]
  metrics: Metrics
}

export function registerAccessLog(app: FastifyInstance, options: AccessLogOptions): void {
  const { enabled, trustProxy, metrics } = options

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id)
  })

  // Every error answer is rendered by render-error.ts as {"code":…}; its code is read back here
  // rather than threaded through every place that throws.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const code = CODE_IN_BODY.exec(payload)?.[1]
      if (code !== undefined) accessRecordOf(request).code = code
    }
    return payload
  })

  app.addHook('onResponse', async (request, reply) => {
    const record = records.get(request) ?? {}
    const status = reply.statusCode
    const code = status < 400 ? 'ok' : (record.code ?? String(status))
    const milliseconds = reply.elapsedTime
    const measured = MEASURED_ROUTES[request.routeOptions.url as keyof typeof MEASURED_ROUTES]
    if (measured !== undefined) {
      const outcome: RequestOutcome = code === 'ok' ? (record.outcome ?? 'hash_check') : 'refused'
      metrics.observeRequest(measured, code, outcome, milliseconds / 1000)
    }
    if (!enabled) return
    const ip = 'ip' in record ? record.ip : resolveClientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], trustProxy)
    request.server.log.info(
      {
        reqId: request.id,
        method: request.method,
        path: pathOf(request.url),
        status,
        code,
        account: record.account,
        ip: ip ? formatIpAddress(ip) : undefined,
        ms: Math.round(milliseconds * 1000) / 1000,
        cacheHit: record.outcome === undefined ? undefined : record.outcome === 'cache_hit',
        jti: record.jti,
      },
      'access',
    )
  })
}

/** The path without its query (which may carry anything), bounded. */
function pathOf(url: string): string {
  const query = url.indexOf('?')
  return (query < 0 ? url : url.slice(0, query)).slice(0, MAX_LOGGED_PATH)
}
