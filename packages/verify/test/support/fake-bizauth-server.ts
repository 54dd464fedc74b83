import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose'
import { ISSUER } from './tokens.js'

/**
 * A node:http stand-in for the bizauth server, speaking docs/wire.md: the JWKS, the revocations
 * feed and introspection, with counters the tests assert on. It verifies with jose, an
 * implementation independent of the package under test.
 */
export interface FakeBizauthServer {
  readonly url: string
  readonly jwksUrl: string
  readonly requests: { jwks: number; revocations: number; introspect: number }
  readonly credentials: { account: string; password: string }
  setKeys(keys: JWK[]): void
  revokeJti(jti: string, exp: number): void
  revokeAccount(sub: string, validAfter: number): void
  /** Makes the feed answer 400 3005 (as for bad credentials) while true. */
  failFeed: boolean
  /** At most this many events per feed answer, like the real server's page (default: all). */
  feedPageSize: number
  close(): Promise<void>
}

type FeedEvent = { seq: number; kind: 'jti'; jti: string; exp: number } | { seq: number; kind: 'account'; sub: string; validAfter: number }

const JSON_TYPE = 'application/json; charset=utf-8'

export async function startFakeBizauthServer(initialKeys: JWK[]): Promise<FakeBizauthServer> {
  let keys = initialKeys
  const events: FeedEvent[] = []
  const credentials = { account: 'resource-server', password: 'pa:ss wörd' }
  const expectedBasic = `Basic ${Buffer.from(`${credentials.account}:${credentials.password}`).toString('base64')}`
  const state = {
    requests: { jwks: 0, revocations: 0, introspect: 0 },
    failFeed: false,
    feedPageSize: Number.POSITIVE_INFINITY,
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': JSON_TYPE, ...headers })
    res.end(JSON.stringify(body))
  }

  async function isActive(token: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), { issuer: ISSUER, algorithms: ['EdDSA', 'ES256'] })
      const revoked = events.some((event) =>
        event.kind === 'jti' ? event.jti === payload.jti : event.sub === payload.sub && (payload.iat ?? 0) < event.validAfter)
      return revoked ? undefined : payload
    } catch {
      return undefined
    }
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'GET' && url.pathname === '/.well-known/jwks.json') {
      state.requests.jwks++
      return send(res, 200, { keys }, { 'cache-control': 'public, max-age=300' })
    }
    const authenticated = req.headers.authorization === expectedBasic
    if (req.method === 'GET' && url.pathname === '/v1/token/revocations') {
      state.requests.revocations++
      if (!authenticated || state.failFeed) return send(res, 400, { code: '3005', description: 'The authentication information is invalid.' })
      const since = Number(url.searchParams.get('since') ?? '0')
      const cursor = Number.isSafeInteger(since) && since >= 0 ? since : 0
      const fresh = events.filter((event) => event.seq > cursor).slice(0, state.feedPageSize)
      return send(res, 200, { events: fresh, cursor: String(fresh.length === 0 ? cursor : fresh[fresh.length - 1]!.seq) })
    }
    if (req.method === 'POST' && url.pathname === '/v1/token/introspect') {
      state.requests.introspect++
      if (!authenticated) return send(res, 400, { code: '3005', description: 'The authentication information is invalid.' })
      const raw = await readBody(req)
      const token = req.headers['content-type']?.startsWith('application/json')
        ? (JSON.parse(raw) as { token?: string }).token
        : new URLSearchParams(raw).get('token')
      if (!token) return send(res, 400, { code: '3002', description: 'The token is invalid.' })
      const payload = await isActive(token)
      if (payload === undefined) return send(res, 200, { active: false })
      const { sub, exp, iat, jti, iss } = payload
      return send(res, 200, { active: true, sub, exp, iat, jti, iss, token_type: 'Bearer' })
    }
    send(res, 400, { code: '5001', description: 'The requested URI resource does not exist.' })
  }

  const server: Server = createServer((req, res) => {
    route(req, res).catch(() => send(res, 500, { code: '9000', description: 'An unknown error occurred.' }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`

  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    credentials,
    get requests() {
      return state.requests
    },
    get failFeed() {
      return state.failFeed
    },
    set failFeed(value: boolean) {
      state.failFeed = value
    },
    get feedPageSize() {
      return state.feedPageSize
    },
    set feedPageSize(value: number) {
      state.feedPageSize = value
    },
    setKeys(next) {
      keys = next
    },
    revokeJti(jti, exp) {
      events.push({ seq: events.length + 1, kind: 'jti', jti, exp })
    },
    revokeAccount(sub, validAfter) {
      events.push({ seq: events.length + 1, kind: 'account', sub, validAfter })
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
