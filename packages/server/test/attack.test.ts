/**
 * The attack suite of issue 4: hostile tokens the test builds itself. Each must be refused by
 * introspection (`{"active":false}`) AND by @bizauth/verify's createVerifier pointed at the real
 * server's JWKS and revocation feed over real HTTP.
 */
import assert from 'node:assert/strict'
import { createHmac, createPublicKey } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose'
import { createVerifier, type Verifier } from '@bizauth/verify'
import { accountRevocation } from '../src/accounts/administration.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { FAST_ARGON2, basic, decodeJwtPart, startTestApp, type TestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')
const segment = (value: unknown) => b64(JSON.stringify(value))
/** What a Bearer header carrying the token answers; 3002 unless named here. */
const HEADER_CODES: Record<string, string> = { 'not base64url': '3005' }

describe('attack suite: introspection and @bizauth/verify both refuse', () => {
  let t: TestApp
  let baseUrl: string
  let verifier: Verifier
  const hostile = new Map<string, string>()

  async function issue(account: string, password: string): Promise<string> {
    const response = await t.token(basic(account, password))
    assert.equal(response.statusCode, 200, response.body)
    return String((JSON.parse(response.body) as { accesstoken: string }).accesstoken)
  }

  /** The server's real current private key, read from its store (no key encryption in tests). */
  async function serverSigningKey(): Promise<{ alg: string; kid: string; key: Awaited<ReturnType<typeof importJWK>> }> {
    const { kid, alg } = t.services.keys.current
    const record = (await t.store.listKeys()).find((stored) => stored.kid === kid)!
    return { kid, alg, key: await importJWK(JSON.parse(record.privateMaterial) as JWK, alg) }
  }

  /** Signed with the server's real current key: only the claims are wrong. */
  async function signWithServerKey(claims: Record<string, unknown>): Promise<string> {
    const { alg, kid, key } = await serverSigningKey()
    return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)
  }

  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'acme-pw')
    await t.createAccount('other', 'other-pw')
    await t.createAccount('revoked-account', 'pw')
    await t.createAccount('changed-password', 'old-pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 })
    verifier = createVerifier({
      issuer: 'bizauth',
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      revocations: { url: baseUrl, credentials: { account: 'rs', password: 'rs-pw' }, pollIntervalMs: 200 },
    })

    const good = await issue('acme', 'acme-pw')
    const [header, payload, signature] = good.split('.') as [string, string, string]
    const claims = decodeJwtPart(good, 1)
    const kid = t.services.keys.current.kid
    const now = Math.floor(Date.now() / 1000)
    const publicJwk = t.services.keys.current.publicJwk as JWK

    hostile.set('alg none', `${segment({ alg: 'none', kid, typ: 'JWT' })}.${payload}.`)
    hostile.set('alg none with a signature', `${segment({ alg: 'none', kid, typ: 'JWT' })}.${payload}.${signature}`)
    // HS256 "signed" with what a confused verifier would use as the secret: the public key's bytes.
    const publicPem = createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
    const secrets: Array<[string, Buffer]> = [
      ['raw x', Buffer.from(publicJwk.x!, 'base64url')],
      ['PEM', Buffer.from(String(publicPem))],
      ['JWK JSON', Buffer.from(JSON.stringify(publicJwk))],
    ]
    for (const [name, secret] of secrets) {
      const input = `${segment({ alg: 'HS256', kid, typ: 'JWT' })}.${payload}`
      hostile.set(`HS256 with the public key (${name})`, `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)
    }
    hostile.set('swapped payload', `${header}.${segment({ ...claims, sub: 'other' })}.${signature}`)
    hostile.set('payload from another token', `${header}.${(await issue('other', 'other-pw')).split('.')[1]}.${signature}`)
    hostile.set('truncated signature', `${header}.${payload}.${signature.slice(0, -6)}`)
    hostile.set('no signature', `${header}.${payload}.`)
    hostile.set('two segments', `${header}.${payload}`)

    const attacker = await generateKeyPair('EdDSA')
    const signAs = (kidValue: string) =>
      new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', kid: kidValue, typ: 'JWT' }).sign(attacker.privateKey)
    hostile.set('unknown kid', await signAs('attacker-key'))
    hostile.set('kid with path syntax', await signAs('../../../../etc/passwd'))
    hostile.set('kid with SQL syntax', await signAs("' OR '1'='1' --"))
    hostile.set('kid that is a URL', await signAs('https://evil.example/jwks.json'))
    hostile.set("the server's kid, the attacker's key", await signAs(kid))
    const attackerJwk = await exportJWK(attacker.publicKey)
    hostile.set(
      'embedded jwk header',
      await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', jwk: attackerJwk, typ: 'JWT' }).sign(attacker.privateKey),
    )

    const base = { iss: 'bizauth', sub: 'acme', jti: 'AAAAAAAAAAAAAAAAAAAAAA' }
    hostile.set('expired', await signWithServerKey({ ...base, iat: now - 2 * 86400, exp: now - 86400 }))
    hostile.set('not yet valid', await signWithServerKey({ ...base, iat: now, nbf: now + 3600, exp: now + 86400 }))
    hostile.set('wrong issuer', await signWithServerKey({ ...base, iss: 'https://evil.example', iat: now, exp: now + 86400 }))
    hostile.set('no issuer', await signWithServerKey({ sub: 'acme', jti: base.jti, iat: now, exp: now + 86400 }))
    hostile.set('no exp', await signWithServerKey({ ...base, iat: now }))

    const revokedByJti = await issue('acme', 'acme-pw')
    const revoke = await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${revokedByJti}` } })
    assert.equal(revoke.statusCode, 200, revoke.body)
    hostile.set('revoked by jti', revokedByJti)

    const revokedByAccount = await issue('revoked-account', 'pw')
    const { validAfter, expiresAt } = accountRevocation(Date.now())
    await t.store.revokeAccountTokens('revoked-account', validAfter, expiresAt)
    hostile.set('revoked by account', revokedByAccount)

    // What `bizauth account set-password` does: the new hash and the revocation together.
    const beforeChange = await issue('changed-password', 'old-pw')
    const newHash = await new PasswordHasher(FAST_ARGON2).hash('new-pw')
    await t.store.setPasswordHash('changed-password', newHash, { revoke: accountRevocation(Date.now()) })
    hostile.set('issued before a password change', beforeChange)

    hostile.set('1 MB token', `${header}.${'A'.repeat(1024 * 1024)}.${signature}`)
    hostile.set('non-JSON header', `${b64('not json')}.${payload}.${signature}`)
    hostile.set('non-JSON payload', `${header}.${b64('{{{not json')}.${signature}`)
    hostile.set('non-JSON payload, validly signed', await signNonJsonPayload())
    hostile.set('JSON array payload', `${header}.${b64('[1,2,3]')}.${signature}`)
    // Not a b64token, so not a Bearer credential at all (RFC 6750 §2.1): 3005 where a header is read.
    hostile.set('not base64url', `${header}.${payload}!.${signature}`)

    // The verifier must have read the feed past the revocations above.
    const polls = verifier.stats().revocationPolls
    await waitFor(() => (verifier.stats().revocationPolls >= polls + 2 ? true : undefined), { what: 'two more feed polls' })

    async function signNonJsonPayload(): Promise<string> {
      const { alg, kid, key } = await serverSigningKey()
      const { CompactSign } = await import('jose')
      return new CompactSign(new TextEncoder().encode('plain text, not JSON')).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(key)
    }
  })

  after(async () => {
    verifier?.close()
    await t?.close()
  })

  it('a genuine token passes both (so the refusals below mean something)', async () => {
    const token = await issue('acme', 'acme-pw')
    const claims = await verifier(`Bearer ${token}`)
    assert.equal(claims.sub, 'acme')
    assert.equal(await introspectActive(token), true)
  })

  async function introspectActive(token: string): Promise<boolean> {
    const response = await fetch(`${baseUrl}/v1/token/introspect`, {
      method: 'POST',
      headers: { authorization: basic('rs', 'rs-pw'), 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    })
    assert.equal(response.status, 200)
    const body = (await response.json()) as Record<string, unknown>
    if (body.active === false) assert.deepEqual(body, { active: false })
    return body.active === true
  }

  it('every hostile token is inactive on introspection and refused by the verifier (3002)', async () => {
    assert.ok(hostile.size >= 30, `built ${hostile.size} hostile tokens`)
    for (const [name, token] of hostile) {
      assert.equal(await introspectActive(token), false, `introspection accepted: ${name}`)
      await assert.rejects(verifier(`Bearer ${token}`), (error: { code?: string }) => {
        assert.equal(error.code, HEADER_CODES[name] ?? '3002', `verifier code for: ${name}`)
        return true
      }, `verifier accepted: ${name}`)
    }
  })

  it('POST /v1/token/revoke refuses them too (3002), so none can be used to probe', async () => {
    for (const [name, token] of hostile) {
      if (name === '1 MB token' || name === 'revoked by jti') continue // over the header limit (431); already revoked (200, idempotent)
      const response = await fetch(`${baseUrl}/v1/token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      const body = (await response.json()) as { code?: string }
      assert.equal(response.status, 400, name)
      assert.equal(body.code, HEADER_CODES[name] ?? '3002', name)
    }
  })
})
