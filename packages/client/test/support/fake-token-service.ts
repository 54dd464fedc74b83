/**
 * A local stand-in for the Bizppurio token service "at its worst" (issue 5): node:http on
 * 127.0.0.1, port 0. Each POST /v1/token is answered by the next scripted behaviour (the last one
 * repeats); every other path is an API endpoint that accepts only tokens it issued and has not
 * revoked, answering 400/3002 otherwise, as the contract does (contract.md §3), never 401.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import { formatKstTimestamp } from '../../src/kst.js'

export type TokenBehaviour = (request: IncomingMessage, response: ServerResponse, service: FakeTokenService) => void

export interface FakeTokenService {
  readonly url: string
  /** POST /v1/token requests received, whatever their outcome. */
  tokenRequests: number
  apiRequests: number
  /** The Authorization header of each token request. */
  readonly tokenAuthorizations: string[]
  readonly issuedTokens: string[]
  readonly validTokens: Set<string>
  /** Every API request answers 3002 while this is set. */
  rejectAllTokens: boolean
  script(...behaviours: TokenBehaviour[]): void
  close(): Promise<void>
}

export async function startFakeTokenService(...behaviours: TokenBehaviour[]): Promise<FakeTokenService> {
  let queue = behaviours.length > 0 ? behaviours : [issueToken()]
  const server = createServer((request, response) => {
    if (request.method === 'POST' && request.url === '/v1/token') {
      service.tokenRequests++
      service.tokenAuthorizations.push(request.headers.authorization ?? '')
      const behaviour = queue.length > 1 ? queue.shift()! : queue[0]!
      request.resume()
      behaviour(request, response, service)
      return
    }
    service.apiRequests++
    const presented = (request.headers.authorization ?? '').replace(/^Bearer /, '')
    request.resume()
    if (service.rejectAllTokens || !service.validTokens.has(presented)) {
      sendJson(response, 400, { code: '3002', description: 'The token is invalid.' })
    } else {
      sendJson(response, 200, { code: '1000', description: 'success', path: request.url })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const service: FakeTokenService = {
    url: `http://127.0.0.1:${port}`,
    tokenRequests: 0,
    apiRequests: 0,
    tokenAuthorizations: [],
    issuedTokens: [],
    validTokens: new Set(),
    rejectAllTokens: false,
    script: (...next) => { queue = next },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  return service
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers })
  response.end(text)
}

/** A token that looks like the real service's: an HS256-shaped JWT whose `exp` matches `expired`. */
export function makeJwt(claims: Record<string, unknown>): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${encode({ typ: 'JWT', alg: 'HS256' })}.${encode(claims)}.${Buffer.from('not-a-real-signature').toString('base64url')}`
}

export interface IssueOptions {
  /** Default 24 h, as the contract says. */
  lifetimeMs?: number
  /** Overrides the JWT's exp (seconds); default: the same instant as `expired`. */
  jwtExpSeconds?: number
  /** Split the body into this many chunks, with pauses between them. */
  chunks?: number
  pauseMs?: number
  /** Wait this long before answering at all. */
  delayMs?: number
}

export function issueToken(options: IssueOptions = {}): TokenBehaviour {
  return (_request, response, service) => {
    const expiresAtMs = Math.floor((Date.now() + (options.lifetimeMs ?? 86_400_000)) / 1000) * 1000
    const accessToken = makeJwt({ sub: 'test', jti: randomUUID(), exp: options.jwtExpSeconds ?? expiresAtMs / 1000 })
    service.issuedTokens.push(accessToken)
    service.validTokens.add(accessToken)
    const text = JSON.stringify({ accesstoken: accessToken, type: 'Bearer', expired: formatKstTimestamp(expiresAtMs) })
    const answer = (): void => {
      if ((options.chunks ?? 1) <= 1) {
        sendJson(response, 200, JSON.parse(text))
        return
      }
      writeInChunks(response, 200, text, options.chunks!, options.pauseMs ?? 30)
    }
    if (options.delayMs === undefined) answer()
    else setTimeout(answer, options.delayMs)
  }
}

/** Chunked transfer encoding, one piece at a time with a pause: the first chunk is not the body. */
export function writeInChunks(response: ServerResponse, status: number, text: string, chunks: number, pauseMs: number): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  const size = Math.ceil(text.length / chunks)
  let offset = 0
  const writeNext = (): void => {
    response.write(text.slice(offset, offset + size))
    offset += size
    if (offset >= text.length) response.end()
    else setTimeout(writeNext, pauseMs)
  }
  writeNext()
}

export function answerError(status: number, code: string, description: string, headers: Record<string, string> = {}): TokenBehaviour {
  return (_request, response) => sendJson(response, status, { code, description }, headers)
}

/** Any JSON body, e.g. the rate-limit page's `{"code":5002}` with the code as a number (contract.md §6). */
export function answerBody(status: number, body: unknown, headers: Record<string, string> = {}): TokenBehaviour {
  return (_request, response) => sendJson(response, status, body, headers)
}

export function answerRaw(status: number, text: string, contentType = 'application/json; charset=utf-8'): TokenBehaviour {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': contentType })
    response.end(text)
  }
}

/** The connection is cut with no answer (ECONNRESET on the client). */
export function resetConnection(): TokenBehaviour {
  return (request) => request.socket.destroy()
}

/** Headers and half a body, then the connection is cut. */
export function cutMidBody(): TokenBehaviour {
  return (request, response) => {
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '400' })
    response.write('{"accesstoken":"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.')
    setTimeout(() => request.socket.destroy(), 20)
  }
}

/** Accepts the request and never answers. */
export function neverAnswer(): TokenBehaviour {
  return () => {}
}
