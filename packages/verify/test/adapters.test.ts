import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import Fastify from 'fastify'
import {
  bizauthFastify, bizauthMiddleware, bizauthPreHandler, createVerifier, withBizauth, type PublicJwk, type VerifiedClaims, type Verifier,
} from '../src/index.js'
import { createSigningKey, issueToken, type SigningKey } from './support/tokens.js'

declare module 'fastify' {
  interface FastifyRequest {
    bizauth: VerifiedClaims | null
  }
}

const CONTRACT_TYPE = 'application/json; charset=utf-8'
const INVALID_TOKEN = { code: '3002', description: 'The token is invalid.' }
const INVALID_AUTHENTICATION = { code: '3005', description: 'The authentication information is invalid.' }

let key: SigningKey
let verifier: Verifier
let token: string

before(async () => {
  key = await createSigningKey('key-1')
  verifier = createVerifier({ issuer: 'bizauth-test', keys: [key.publicJwk as PublicJwk] })
  token = await issueToken(key, { sub: 'acme' })
})

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function assertContractError(response: Response, expected: object): Promise<void> {
  assert.equal(response.status, 400)
  assert.equal(response.headers.get('content-type'), CONTRACT_TYPE)
  assert.deepEqual(await response.json(), expected)
}

describe('Fastify plugin', () => {
  it('protects the routes of the scope it is registered in and exposes request.bizauth', async () => {
    const app = Fastify()
    app.get('/health', async () => ({ ok: true }))
    await app.register(async (api) => {
      await api.register(bizauthFastify, { verifier })
      api.post('/v3/message', async (request) => ({ account: request.bizauth?.sub }))
    })
    try {
      const ok = await app.inject({ method: 'POST', url: '/v3/message', headers: { authorization: `Bearer ${token}` } })
      assert.equal(ok.statusCode, 200)
      assert.deepEqual(ok.json(), { account: 'acme' })

      const missing = await app.inject({ method: 'POST', url: '/v3/message' })
      assert.equal(missing.statusCode, 400)
      assert.equal(missing.headers['content-type'], CONTRACT_TYPE)
      assert.deepEqual(missing.json(), INVALID_AUTHENTICATION)

      const bad = await app.inject({ method: 'POST', url: '/v3/message', headers: { authorization: `Bearer ${token.slice(0, -2)}AA` } })
      assert.equal(bad.statusCode, 400)
      assert.deepEqual(bad.json(), INVALID_TOKEN)
      assert.ok(!bad.body.includes(token.slice(0, 20)))

      // Outside the scope, nothing is required.
      assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
    } finally {
      await app.close()
    }
  })

  it('applies to the whole app when registered at the root (skip-override), owning a verifier made from options', async () => {
    const app = Fastify()
    await app.register(bizauthFastify, { issuer: 'bizauth-test', keys: [key.publicJwk as PublicJwk] })
    app.get('/v1/result/request', async (request) => ({ jti: request.bizauth?.jti }))
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/result/request' })).statusCode, 400)
      const ok = await app.inject({ method: 'GET', url: '/v1/result/request', headers: { authorization: `bearer ${token}` } })
      assert.equal(ok.statusCode, 200)
      assert.equal(typeof ok.json().jti, 'string')
    } finally {
      await app.close()
    }
  })

  it('works as a per-route hook through a real socket', async () => {
    const app = Fastify()
    app.get('/v1/confirm', { onRequest: bizauthPreHandler(verifier) }, async (request) => ({ sub: request.bizauth?.sub }))
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    try {
      const ok = await fetch(`${url}/v1/confirm`, { headers: { authorization: `Bearer ${token}` } })
      assert.deepEqual(await ok.json(), { sub: 'acme' })
      await assertContractError(await fetch(`${url}/v1/confirm`, { headers: { authorization: 'Basic abc' } }), INVALID_AUTHENTICATION)
    } finally {
      await app.close()
    }
  })
})

describe('Express/Connect middleware', () => {
  let url: string
  let server: Server
  let handlerCalls = 0

  before(async () => {
    const middleware = bizauthMiddleware(verifier)
    server = createServer((req: IncomingMessage & { bizauth?: VerifiedClaims }, res: ServerResponse) => {
      middleware(req, res, (error?: unknown) => {
        handlerCalls++
        res.setHeader('content-type', CONTRACT_TYPE)
        res.end(JSON.stringify(error ? { error: true } : { sub: req.bizauth?.sub }))
      })
    })
    url = await listen(server)
  })
  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('sets req.bizauth and calls next for a valid token', async () => {
    const calls = handlerCalls
    const response = await fetch(`${url}/v3/message`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    assert.equal(response.status, 200)
    assert.deepEqual(await response.json(), { sub: 'acme' })
    assert.equal(handlerCalls, calls + 1)
  })

  it('answers 400 with the contract body itself and never calls next on failure', async () => {
    const calls = handlerCalls
    await assertContractError(await fetch(`${url}/v3/message`, { method: 'POST' }), INVALID_AUTHENTICATION)
    await assertContractError(await fetch(`${url}/v3/message`, { headers: { authorization: `Bearer ${'a'.repeat(9000)}` } }), INVALID_TOKEN)
    await assertContractError(await fetch(`${url}/v3/message`, { headers: { authorization: 'Bearer x.y.z' } }), INVALID_TOKEN)
    assert.equal(handlerCalls, calls)
  })
})

describe('Fetch-API wrapper', () => {
  it('passes the claims and extra arguments to the handler', async () => {
    const wrapped = withBizauth(verifier, async (_request, claims, env: { region: string }) => Response.json({ sub: claims.sub, region: env.region }))
    const response = await wrapped(new Request('http://resource.test/v3/message', { headers: { authorization: `Bearer ${token}` } }), { region: 'kr' })
    assert.deepEqual(await response.json(), { sub: 'acme', region: 'kr' })
  })

  it('answers 400 {"code","description"} through a real socket', async () => {
    let calls = 0
    const wrapped = withBizauth(verifier, async (_request, claims) => {
      calls++
      return Response.json({ sub: claims.sub })
    })
    const server = createServer(async (req, res) => {
      // A minimal Fetch bridge, as Hono's node adapter or Deno/Bun would provide.
      const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers: req.headers as Record<string, string> })
      const response = await wrapped(request)
      response.headers.forEach((value, name) => res.setHeader(name, value))
      res.statusCode = response.status
      res.end(Buffer.from(await response.arrayBuffer()))
    })
    const url = await listen(server)
    try {
      assert.deepEqual(await (await fetch(`${url}/x`, { headers: { authorization: `Bearer ${token}` } })).json(), { sub: 'acme' })
      await assertContractError(await fetch(`${url}/x`), INVALID_AUTHENTICATION)
      await assertContractError(await fetch(`${url}/x`, { headers: { authorization: `Bearer ${token}x` } }), INVALID_TOKEN)
      assert.equal(calls, 1)
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
