import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { startFakeBizauthServer, type FakeBizauthServer } from './support/fake-bizauth-server.js'
import { createSigningKey, eventually, issueToken, nowSeconds, type SigningKey } from './support/tokens.js'

describe("revocations: 'introspect'", () => {
  let server: FakeBizauthServer
  let key: SigningKey

  before(async () => {
    key = await createSigningKey('key-1')
    server = await startFakeBizauthServer([key.publicJwk])
  })
  after(() => server.close())

  it("keeps the issue's spelling: revocations 'introspect' with url and credentials beside it", async () => {
    const verifier = createVerifier({ issuer: 'bizauth-test', revocations: 'introspect', url: server.url, credentials: server.credentials })
    const token = await issueToken(key, { sub: 'acme' })
    const before = server.requests.introspect
    const claims = await verifier(`Bearer ${token}`)
    assert.equal(claims.sub, 'acme')
    assert.equal(server.requests.introspect - before, 1)
  })

  it('without keys (HS256 deployments), the server decides; garbage never reaches it', async () => {
    const verifier = createVerifier({ issuer: 'bizauth-test', revocations: { mode: 'introspect', url: server.url, credentials: server.credentials } })
    const before = server.requests.introspect
    await assertRejects(verifier('Bearer not-a-jws'), '3002', 'malformed')
    await assertRejects(verifier('Bearer a!b'), '3005', 'malformed_header')
    assert.equal(server.requests.introspect - before, 0)
    const forged = `${(await issueToken(key)).slice(0, -4)}AAAA`
    await assertRejects(verifier(`Bearer ${forged}`), '3002', 'inactive', forged)
    assert.equal(server.requests.introspect - before, 1)
  })

  it('with keys, checks locally first, then asks; concurrent requests share one introspection', async () => {
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { mode: 'introspect', url: server.url, credentials: server.credentials, cacheMs: 60_000 },
    })
    const token = await issueToken(key)
    const before = server.requests.introspect
    await Promise.all(Array.from({ length: 10 }, () => verifier(`Bearer ${token}`)))
    assert.equal(server.requests.introspect - before, 1)
    const forged = `${token.slice(0, -4)}AAAA`
    await assertRejects(verifier(`Bearer ${forged}`), '3002', 'bad_signature', forged)
    assert.equal(server.requests.introspect - before, 1, 'a bad signature never costs a request')
  })

  it('sees a revocation once the answer cache (cacheMs) has run out', async () => {
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { mode: 'introspect', url: server.url, credentials: server.credentials, cacheMs: 100 },
    })
    const token = await issueToken(key, { sub: 'to-revoke' })
    await verifier(`Bearer ${token}`)
    server.revokeAccount('to-revoke', nowSeconds() + 1)
    await eventually(() => verifier(`Bearer ${token}`).then(() => false, () => true), 5000, 'the revocation to be seen')
    await assertRejects(verifier(`Bearer ${token}`), '3002', 'inactive', token)
  })

  it('answers 9000, not 3002, when the introspection credentials are refused', async () => {
    const errors: Error[] = []
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      revocations: { mode: 'introspect', url: server.url, credentials: { account: 'resource-server', password: 'wrong' } },
      onError: (error) => errors.push(error),
    })
    const token = await issueToken(key)
    await assertRejects(verifier(`Bearer ${token}`), '9000', 'introspection_unavailable', token)
    assert.match(errors[0]?.message ?? '', /HTTP 400 code 3005/)
    assert.ok(!errors[0]?.message.includes('wrong'))
  })
})
