/** POST /v1/token, issue 2 §2: every behaviour, through the real app on a real SQLite file. */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { basic, decodeJwtPart, kstOf, startTestApp, type TestApp } from './helpers/app.js'

function body(response: { body: string }): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>
}

function assertError(response: { statusCode: number; body: string; headers: Record<string, unknown> }, code: string, status = 400): void {
  assert.equal(response.statusCode, status, `expected ${status}/${code}, got ${response.statusCode} ${response.body}`)
  assert.match(String(response.headers['content-type']), /^application\/json; charset=utf-8$/)
  const parsed = body(response)
  assert.deepEqual(Object.keys(parsed).sort(), ['code', 'description'])
  assert.equal(parsed.code, code)
  assert.equal(typeof parsed.description, 'string')
}

describe('POST /v1/token', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp({ issuer: 'https://auth.example.test' })
    await t.createAccount('acme', 'correct horse')
    await t.createAccount('colon', 'pa:ss:word')
    await t.createAccount('hangul', '비밀번호-한글')
    await t.createAccount('noip', 'pw', { allowIps: [] })
    await t.createAccount('elsewhere', 'pw', { allowIps: ['203.0.113.0/24'] })
    await t.createAccount('sleepy', 'pw', { suspended: true })
    await t.createAccount('v6', 'pw', { allowIps: ['2001:db8::/32'] })
    await t.createAccount('mapped', 'pw', { allowIps: ['198.51.100.7'] })
  })
  after(() => t.close())

  it('answers 200 with exactly accesstoken, type and expired, as application/json; charset=utf-8', async () => {
    const response = await t.token(basic('acme', 'correct horse'))
    assert.equal(response.statusCode, 200, response.body)
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
    assert.equal(response.headers['cache-control'], 'no-store')
    const parsed = body(response)
    assert.deepEqual(Object.keys(parsed).sort(), ['accesstoken', 'expired', 'type'])
    assert.equal(parsed.type, 'Bearer')
    assert.match(String(parsed.expired), /^\d{14}$/)
  })

  it('issues a JWT with iss, sub, iat, exp = iat + 86400, a 128-bit jti and a kid, and expired = exp in KST', async () => {
    const before = Math.floor(Date.now() / 1000)
    const parsed = body(await t.token(basic('acme', 'correct horse')))
    const token = String(parsed.accesstoken)
    const header = decodeJwtPart(token, 0)
    const claims = decodeJwtPart(token, 1)
    assert.equal(header.alg, 'EdDSA')
    assert.equal(typeof header.kid, 'string')
    assert.equal(claims.iss, 'https://auth.example.test')
    assert.equal(claims.sub, 'acme')
    assert.ok(Number(claims.iat) >= before && Number(claims.iat) <= Math.floor(Date.now() / 1000) + 1)
    assert.equal(Number(claims.exp) - Number(claims.iat), 86400)
    // 32 hex digits: 128 random bits, and never a leading '-' that a CLI would read as an option.
    assert.match(String(claims.jti), /^[0-9a-f]{32}$/)
    assert.equal(parsed.expired, kstOf(Number(claims.exp)))
  })

  it('signs tokens that verify against its own JWKS with an independent JOSE implementation', async () => {
    const jwks = JSON.parse((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
    const first = String(body(await t.token(basic('acme', 'correct horse'))).accesstoken)
    const second = String(body(await t.token(basic('acme', 'correct horse'))).accesstoken)
    assert.notEqual(first, second)
    // Several tokens per account stay valid together (contract.md §4).
    for (const token of [first, second]) {
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'https://auth.example.test' })
      assert.equal(payload.sub, 'acme')
    }
    assert.notEqual(decodeJwtPart(first, 1).jti, decodeJwtPart(second, 1).jti)
  })

  describe('Basic credentials (RFC 7617)', () => {
    it('takes the scheme name in any case', async () => {
      const value = basic('acme', 'correct horse').replace('Basic', 'bAsIc')
      assert.equal((await t.token(value)).statusCode, 200)
    })
    it('splits at the first colon, so a password may contain colons', async () => {
      assert.equal((await t.token(basic('colon', 'pa:ss:word'))).statusCode, 200)
    })
    it('decodes both parts as UTF-8', async () => {
      assert.equal((await t.token(basic('hangul', '비밀번호-한글'))).statusCode, 200)
    })
    for (const [name, header] of [
      ['missing header', undefined],
      ['empty header', ''],
      ['another scheme', 'Bearer abc'],
      ['no credentials', 'Basic'],
      ['two spaces', `Basic  ${Buffer.from('acme:correct horse').toString('base64')}`],
      ['no colon', `Basic ${Buffer.from('acmecorrect').toString('base64')}`],
      ['invalid base64', 'Basic !!!!'],
      ['URL-safe base64', `Basic ${Buffer.from('acme:??>>').toString('base64url')}`],
      ['invalid UTF-8', `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`],
      ['bad padding', 'Basic YWNtZTpw='],
    ] as const) {
      it(`answers 3001 for ${name}`, async () => assertError(await t.token(header), '3001'))
    }
  })

  describe('checks, in the contract order', () => {
    it('3004 for an account id of the wrong shape', async () => {
      for (const id of ['', 'has space', 'a'.repeat(65), 'semi;colon', '한글']) assertError(await t.token(basic(id, 'pw')), '3004')
    })
    it('accepts every allowed id character and 64 characters', async () => {
      const id = `A-z_0.9@${'x'.repeat(56)}`
      assert.equal(id.length, 64)
      await t.createAccount(id, 'pw')
      assert.equal((await t.token(basic(id, 'pw'))).statusCode, 200)
      assertError(await t.token(basic(id.replace('x', '+'), 'pw')), '3004')
    })
    it('3006 for an account that does not exist', async () => assertError(await t.token(basic('nobody', 'pw')), '3006'))
    it('3000 when the account has no allowed IP, before the password is looked at', async () => {
      assertError(await t.token(basic('noip', 'wrong')), '3000')
    })
    it('3010 naming the seen IP when the caller is not allowed, before the password', async () => {
      const response = await t.token(basic('elsewhere', 'wrong'))
      assertError(response, '3010')
      assert.match(String(body(response).description), /127\.0\.0\.1/)
    })
    it('matches IPv4-mapped IPv6 peers against IPv4 entries', async () => {
      assert.equal((await t.token(basic('mapped', 'pw'), { remoteAddress: '::ffff:198.51.100.7' })).statusCode, 200)
    })
    it('matches IPv6 ranges', async () => {
      assert.equal((await t.token(basic('v6', 'pw'), { remoteAddress: '2001:db8:1::5' })).statusCode, 200)
      assertError(await t.token(basic('v6', 'pw'), { remoteAddress: '2001:db9::5' }), '3010')
    })
    it('3007 for a wrong password', async () => assertError(await t.token(basic('acme', 'wrong')), '3007'))
    it('3009 for a suspended account only with the right password', async () => {
      assertError(await t.token(basic('sleepy', 'pw')), '3009')
      assertError(await t.token(basic('sleepy', 'wrong')), '3007')
    })
  })

  describe('trusted proxies', () => {
    it('ignores X-Forwarded-For by default', async () => {
      const response = await t.token(basic('elsewhere', 'pw'), { headers: { 'x-forwarded-for': '203.0.113.9' } })
      assertError(response, '3010')
      assert.match(String(body(response).description), /127\.0\.0\.1/)
    })
  })

  describe('errors outside the token route', () => {
    it('5001 for an unknown path', async () => assertError(await t.app.inject({ method: 'GET', url: '/v1/nothing' }), '5001'))
    it('5001 for a known path with the wrong method', async () => {
      assertError(await t.app.inject({ method: 'GET', url: '/v1/token' }), '5001')
      assertError(await t.app.inject({ method: 'DELETE', url: '/v1/token' }), '5001')
    })
    it('5001 for a malformed URL', async () => assertError(await t.app.inject({ method: 'POST', url: '/v1/%E0%A4%A' }), '5001'))
  })

  describe('request bodies', () => {
    for (const [name, contentType, payload] of [
      ['JSON', 'application/json; charset=utf-8', '{"a":1}'],
      ['broken JSON', 'application/json', '{"a":'],
      ['a form', 'application/x-www-form-urlencoded', 'a=1&b=2'],
      ['an unknown type', 'application/x-nonsense', '\u0000\u0001binary'],
      ['no type', undefined, 'raw text'],
    ] as const) {
      it(`ignores ${name}`, async () => {
        const headers: Record<string, string> = {}
        if (contentType) headers['content-type'] = contentType
        const response = await t.token(basic('acme', 'correct horse'), { headers, payload })
        assert.equal(response.statusCode, 200, response.body)
      })
    }
    it('answers an oversized body with 413 in the contract form', async () => {
      const response = await t.token(basic('acme', 'correct horse'), { headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(t.config.bodyLimitBytes + 1) })
      assertError(response, '3001', 413)
    })
  })

  describe('health', () => {
    it('is live and ready while the store answers', async () => {
      assert.equal((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200)
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' })
      assert.equal(ready.statusCode, 200)
      assert.deepEqual(body(ready), { status: 'ready' })
    })
  })
})

describe('POST /v1/token behind trusted proxies', () => {
  let t: TestApp
  before(async () => {
    t = await startTestApp({ trustProxy: [] })
  })
  after(() => t.close())

  async function appWithTrust(cidrs: string): Promise<TestApp> {
    const { parseCidrList } = await import('../src/net/cidr.js')
    const app = await startTestApp({ trustProxy: parseCidrList(cidrs) })
    await app.createAccount('client', 'pw', { allowIps: ['203.0.113.9'] })
    return app
  }

  it('honours X-Forwarded-For only from a trusted proxy', async () => {
    const proxied = await appWithTrust('127.0.0.1')
    try {
      assert.equal((await proxied.token(basic('client', 'pw'), { headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode, 200)
      // The same header from an untrusted peer is ignored.
      const untrusted = await proxied.token(basic('client', 'pw'), { remoteAddress: '192.0.2.1', headers: { 'x-forwarded-for': '203.0.113.9' } })
      assertError(untrusted, '3010')
      assert.match(String(body(untrusted).description), /192\.0\.2\.1/)
    } finally {
      await proxied.close()
    }
  })

  it('takes the rightmost address that is not a trusted proxy', async () => {
    const proxied = await appWithTrust('127.0.0.1, 10.0.0.0/8')
    try {
      // A client-supplied leftmost entry cannot spoof: the rightmost untrusted hop is 198.51.100.1.
      const spoofed = await proxied.token(basic('client', 'pw'), { headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' } })
      assertError(spoofed, '3010')
      assert.match(String(body(spoofed).description), /198\.51\.100\.1/)
      const chained = await proxied.token(basic('client', 'pw'), { headers: { 'x-forwarded-for': '203.0.113.9, 10.1.2.3' } })
      assert.equal(chained.statusCode, 200, chained.body)
    } finally {
      await proxied.close()
    }
  })

  it('answers 3003 when a trusted proxy forwards an unreadable address', async () => {
    const proxied = await appWithTrust('127.0.0.1')
    try {
      assertError(await proxied.token(basic('client', 'pw'), { headers: { 'x-forwarded-for': 'not-an-ip' } }), '3003')
    } finally {
      await proxied.close()
    }
  })

  it('answers 3003 when the socket address is unreadable', async () => {
    await t.createAccount('someone', 'pw')
    assertError(await t.token(basic('someone', 'pw'), { remoteAddress: 'garbage' }), '3003')
  })
})
