/**
 * POST /v1/token/introspect, POST /v1/token/revoke and GET /v1/token/revocations (docs/wire.md),
 * through the real app on a real SQLite file.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { accountRevocation } from '../src/accounts/administration.js'
import { basic, decodeJwtPart, startTestApp, type TestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

const FORM = 'application/x-www-form-urlencoded'
const JSON_TYPE = 'application/json'

interface Answer {
  statusCode: number
  body: string
  headers: Record<string, unknown>
}

function parsed(response: Answer): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>
}

function assertError(response: Answer, code: string): void {
  assert.equal(response.statusCode, 400, response.body)
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  const body = parsed(response)
  assert.deepEqual(Object.keys(body).sort(), ['code', 'description'])
  assert.equal(body.code, code)
}

async function issue(t: TestApp, account: string, password: string): Promise<string> {
  const response = await t.token(basic(account, password))
  assert.equal(response.statusCode, 200, response.body)
  return String(parsed(response).accesstoken)
}

function introspect(t: TestApp, payload: string, contentType: string, authorization = basic('rs', 'rs-pw')) {
  return t.app.inject({ method: 'POST', url: '/v1/token/introspect', headers: { authorization, 'content-type': contentType }, payload })
}

const form = (token: string) => `token=${encodeURIComponent(token)}`

describe('POST /v1/token/introspect', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp({ issuer: 'https://auth.example.test' })
    await t.createAccount('acme', 'acme-pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    await t.createAccount('plain', 'plain-pw')
  })
  after(() => t.close())

  it('answers the RFC 7662 fields for a form body and for a JSON body', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const claims = decodeJwtPart(token, 1)
    for (const response of [await introspect(t, form(token), FORM), await introspect(t, JSON.stringify({ token }), JSON_TYPE)]) {
      assert.equal(response.statusCode, 200, response.body)
      assert.equal(response.headers['cache-control'], 'no-store')
      assert.deepEqual(parsed(response), {
        active: true,
        sub: 'acme',
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
        iss: 'https://auth.example.test',
        token_type: 'Bearer',
      })
    }
  })

  it('accepts a charset parameter on either content type', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    assert.equal(parsed(await introspect(t, form(token), `${FORM}; charset=utf-8`)).active, true)
    assert.equal(parsed(await introspect(t, JSON.stringify({ token }), `${JSON_TYPE}; charset=utf-8`)).active, true)
  })

  it('answers {"active":false} and nothing else for a token that is not ours', async () => {
    const response = await introspect(t, form('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), FORM)
    assert.equal(response.statusCode, 200)
    assert.equal(response.body, '{"active":false}')
  })

  it('refuses a caller without the introspect role, with a wrong password, or without credentials: 3005', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    assertError(await introspect(t, form(token), FORM, basic('plain', 'plain-pw')), '3005')
    assertError(await introspect(t, form(token), FORM, basic('rs', 'wrong')), '3005')
    assertError(await introspect(t, form(token), FORM, basic('nobody', 'x')), '3005')
    assertError(await t.app.inject({ method: 'POST', url: '/v1/token/introspect', headers: { 'content-type': FORM }, payload: form(token) }), '3005')
    assertError(await introspect(t, form(token), FORM, `Bearer ${token}`), '3005')
  })

  it('answers 3002 when no token is given: empty body, other types, repeated parameter, bad JSON, non-string', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const cases: Array<[string, string]> = [
      ['', FORM],
      ['other=1', FORM],
      [`${form(token)}&${form(token)}`, FORM],
      ['{"token":', JSON_TYPE],
      ['{"token":42}', JSON_TYPE],
      ['["token"]', JSON_TYPE],
      ['{"__proto__":{"token":"x"}}', JSON_TYPE],
      [token, 'text/plain'],
    ]
    for (const [payload, type] of cases) {
      const response = await introspect(t, payload, type)
      assertError(response, '3002')
      assert.match(String(parsed(response).description), /token/)
    }
    assertError(await t.app.inject({ method: 'POST', url: '/v1/token/introspect', headers: { authorization: basic('rs', 'rs-pw') } }), '3002')
  })

  it('answers inactive for a 1 MB token, refuses a body over 2 MiB in the contract form, and reads no body before authenticating', async () => {
    assert.deepEqual(parsed(await introspect(t, `token=${'a'.repeat(1024 * 1024)}`, FORM)), { active: false })
    const response = await introspect(t, `token=${'a'.repeat(2 * 1024 * 1024 + 10)}`, FORM)
    assert.equal(response.statusCode, 413)
    assert.equal(typeof parsed(response).code, 'string')
    assertError(await introspect(t, `token=${'a'.repeat(2 * 1024 * 1024 + 10)}`, FORM, basic('rs', 'wrong')), '3005')
  })

  it('keeps 3008 with Retry-After for a caller being limited', async () => {
    const limited = await startTestApp({ lockoutThreshold: 2, lockoutBaseSeconds: 60 })
    try {
      await limited.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      for (let i = 0; i < 2; i++) assertError(await introspect(limited, form('x'), FORM, basic('rs', 'wrong')), '3005')
      const response = await introspect(limited, form('x'), FORM, basic('rs', 'rs-pw'))
      assertError(response, '3008')
      assert.ok(Number(response.headers['retry-after']) > 0)
    } finally {
      await limited.close()
    }
  })

  it('checks a repeated token from the cache (no second signature check), and still sees a revocation on the next request', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const stats = t.services.tokenVerifier.stats
    const checksBefore = stats.signatureChecks
    const hitsBefore = stats.cacheHits
    for (let i = 0; i < 5; i++) assert.equal(parsed(await introspect(t, form(token), FORM)).active, true)
    assert.equal(stats.signatureChecks - checksBefore, 1, 'one signature check for five introspections')
    assert.equal(stats.cacheHits - hitsBefore, 4)

    const revoked = await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })
    assert.equal(revoked.statusCode, 200, revoked.body)
    assert.deepEqual(parsed(revoked), { revoked: true })
    assert.deepEqual(parsed(await introspect(t, form(token), FORM)), { active: false })
    assert.equal(stats.signatureChecks - checksBefore, 1, 'the revocation was seen on a cache hit')
  })

  it('sees an account revocation made by another process (the CLI) on a cached token, through the feed', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    assert.equal(parsed(await introspect(t, form(token), FORM)).active, true)
    // What `bizauth account revoke-tokens acme` does, in "another process": straight to the store.
    const { validAfter, expiresAt } = accountRevocation(Date.now())
    await t.store.revokeAccountTokens('acme', validAfter, expiresAt)
    await waitFor(async () => (parsed(await introspect(t, form(token), FORM)).active === false ? true : undefined), { what: 'the feed to carry the revocation' })
    // A token issued after the revocation is valid (iat = validAfter, docs/wire.md).
    const fresh = await issue(t, 'acme', 'acme-pw')
    assert.ok(Number(decodeJwtPart(fresh, 1).iat) >= validAfter)
    assert.equal(parsed(await introspect(t, form(fresh), FORM)).active, true)
  })

  it('answers inactive for a token of a deleted account', async () => {
    await t.createAccount('gone', 'gone-pw')
    const token = await issue(t, 'gone', 'gone-pw')
    await t.store.deleteAccount('gone')
    assert.deepEqual(parsed(await introspect(t, form(token), FORM)), { active: false })
  })
})

describe('POST /v1/token/revoke', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'acme-pw')
  })
  after(() => t.close())

  const revoke = (authorization?: string) =>
    t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: authorization === undefined ? {} : { authorization } })

  it('revokes the presented token, idempotently, and writes one row and one feed event', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const jti = String(decodeJwtPart(token, 1).jti)
    assert.deepEqual(parsed(await revoke(`Bearer ${token}`)), { revoked: true })
    assert.deepEqual(parsed(await revoke(`Bearer ${token}`)), { revoked: true })
    assert.equal(await t.store.isJtiRevoked(jti), true)
    const events = (await t.store.revocationsSince(0, 100)).filter((event) => event.subject === jti)
    assert.equal(events.length, 1)
    assert.equal(events[0]!.at, decodeJwtPart(token, 1).exp)
    assert.equal(events[0]!.expiresAt, Number(decodeJwtPart(token, 1).exp) + 300, 'kept until exp + skew, then pruned')
  })

  it('answers 3005 for a missing or malformed Authorization header', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    for (const header of [undefined, '', token, `Bearer  ${token}`, `Basic ${token}`, 'Bearer', `Bearer ${token} x`]) {
      assertError(await revoke(header), '3005')
    }
  })

  it('answers 3002 for a token that does not verify', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const [h, p, s] = token.split('.')
    assertError(await revoke(`Bearer ${h}.${p}.${s!.slice(0, -4)}`), '3002')
    assertError(await revoke('Bearer abc.def.ghi'), '3002')
    assertError(await revoke(`Bearer ${'a'.repeat(9000)}`), '3002')
  })

  it('issuance writes no row: a hundred tokens leave the revocation tables empty', async () => {
    const fresh = await startTestApp({ rateLimit: 0 })
    try {
      await fresh.createAccount('acme', 'acme-pw')
      for (let i = 0; i < 100; i++) await issue(fresh, 'acme', 'acme-pw')
      assert.deepEqual(await fresh.store.revocationsSince(0, 10), [])
    } finally {
      await fresh.close()
    }
  })

  it('prunes expired revocations from the store and from memory', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    assert.equal((await revoke(`Bearer ${token}`)).statusCode, 200)
    const exp = Number(decodeJwtPart(token, 1).exp)
    await t.store.pruneRevocations(exp + 301)
    const jti = String(decodeJwtPart(token, 1).jti)
    assert.equal(await t.store.isJtiRevoked(jti), false)
    t.services.revocations.prune(exp + 301, 300)
    assert.equal(t.services.revocations.isTokenRevoked(jti), false)
  })
})

describe('GET /v1/token/revocations', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'acme-pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    await t.createAccount('plain', 'plain-pw')
  })
  after(() => t.close())

  const feed = (since: string | undefined, authorization = basic('rs', 'rs-pw')) =>
    t.app.inject({ method: 'GET', url: since === undefined ? '/v1/token/revocations' : `/v1/token/revocations?since=${since}`, headers: { authorization } })

  it('needs an introspect-role caller: 3005 otherwise', async () => {
    assertError(await feed('0', basic('plain', 'plain-pw')), '3005')
    assertError(await feed('0', basic('rs', 'nope')), '3005')
    assertError(await t.app.inject({ method: 'GET', url: '/v1/token/revocations' }), '3005')
  })

  it('answers jti and account events in the wire format, with a cursor to continue from', async () => {
    const token = await issue(t, 'acme', 'acme-pw')
    const claims = decodeJwtPart(token, 1)
    await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })
    const { validAfter, expiresAt } = accountRevocation(Date.now())
    await t.store.revokeAccountTokens('acme', validAfter, expiresAt)

    const first = parsed(await feed(undefined))
    const events = first.events as Array<Record<string, unknown>>
    assert.equal(typeof first.cursor, 'string')
    assert.deepEqual(
      events.map(({ seq: _seq, ...rest }) => rest),
      [
        { kind: 'jti', jti: claims.jti, exp: claims.exp },
        { kind: 'account', sub: 'acme', validAfter },
      ],
    )
    assert.equal(first.cursor, String(events[1]!.seq))
    assert.deepEqual(parsed(await feed(String(first.cursor))), { events: [], cursor: first.cursor })
    for (const bogus of ['-1', 'abc', '1.5', '99999999999999999999']) {
      assert.equal((parsed(await feed(bogus)).events as unknown[]).length, 2, `since=${bogus} is 0`)
    }
  })

  it('pages at 1000 events per answer', async () => {
    const start = Number(parsed(await feed('0')).cursor)
    const exp = Math.floor(Date.now() / 1000) + 3600
    for (let i = 0; i < 1005; i++) await t.store.revokeJti(`bulk-${i}`, exp, exp + 300)
    const page1 = parsed(await feed(String(start)))
    assert.equal((page1.events as unknown[]).length, 1000)
    const page2 = parsed(await feed(String(page1.cursor)))
    assert.equal((page2.events as unknown[]).length, 5)
  })
})

describe('signing algorithms', () => {
  it('ES256: a token verifies against the JWKS with jose, and introspects active', async () => {
    const t = await startTestApp({ signingAlgorithm: 'ES256' })
    try {
      await t.createAccount('acme', 'acme-pw')
      await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      const token = await issue(t, 'acme', 'acme-pw')
      assert.equal(decodeJwtPart(token, 0).alg, 'ES256')
      const jwks = parsed(await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }))
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), { issuer: 'bizauth', algorithms: ['ES256'] })
      assert.equal(payload.sub, 'acme')
      assert.equal(parsed(await introspect(t, form(token), FORM)).active, true)
    } finally {
      await t.close()
    }
  })

  it('HS256: the JWKS publishes no key, and introspection still answers', async () => {
    const t = await startTestApp({ signingAlgorithm: 'HS256' })
    try {
      await t.createAccount('acme', 'acme-pw')
      await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      const token = await issue(t, 'acme', 'acme-pw')
      assert.equal(decodeJwtPart(token, 0).alg, 'HS256')
      assert.deepEqual(parsed(await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })), { keys: [] })
      assert.equal(parsed(await introspect(t, form(token), FORM)).active, true)
      const [h, p, s] = token.split('.')
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwtPart(token, 1), sub: 'rs' })).toString('base64url')}.${s}`
      assert.deepEqual(parsed(await introspect(t, form(tampered), FORM)), { active: false })
      assert.ok(p)
    } finally {
      await t.close()
    }
  })
})
