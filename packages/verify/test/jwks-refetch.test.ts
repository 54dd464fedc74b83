import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { startFakeBizauthServer, type FakeBizauthServer } from './support/fake-bizauth-server.js'
import { createSigningKey, issueToken, type SigningKey } from './support/tokens.js'

// Counting, not timing: the fake server counts JWKS requests, and a fake clock moves the rate
// limit's window.
describe('JWKS cache and rate-limited refetch', () => {
  let server: FakeBizauthServer
  let key: SigningKey
  let unknownKey: SigningKey

  before(async () => {
    key = await createSigningKey('key-1')
    unknownKey = await createSigningKey('key-unknown')
    server = await startFakeBizauthServer([key.publicJwk])
  })
  after(() => server.close())

  it('fetches once for many concurrent first requests, and not again for known kids', async () => {
    const before = server.requests.jwks
    const verifier = createVerifier({ issuer: 'bizauth-test', jwksUrl: server.jwksUrl })
    const tokens = await Promise.all(Array.from({ length: 20 }, () => issueToken(key)))
    const results = await Promise.all(tokens.map((token) => verifier(`Bearer ${token}`)))
    assert.equal(results.length, 20)
    await verifier(`Bearer ${await issueToken(key)}`)
    assert.equal(server.requests.jwks - before, 1)
    assert.equal(verifier.stats().jwksFetches, 1)
  })

  it('lets a flood of unknown kids cause one refetch per interval, coalesced across callers', async () => {
    let clock = 1_700_000_000_000
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      jwks: { refetchIntervalMs: 10_000 },
      now: () => clock,
      clockToleranceSeconds: 1e9, // the fake clock is not the tokens' clock
    })
    const before = server.requests.jwks
    await verifier(`Bearer ${await issueToken(key)}`) // the first load
    assert.equal(server.requests.jwks - before, 1)

    const hostile = await Promise.all(Array.from({ length: 50 }, () => issueToken(unknownKey)))
    clock += 10_000 // the window since the first load has passed: one refetch is allowed
    await Promise.all(hostile.map((token) => assertRejects(verifier(`Bearer ${token}`), '3002', 'unknown_kid')))
    assert.equal(server.requests.jwks - before, 2, 'fifty concurrent unknown kids, one refetch')
    for (const token of hostile) await assertRejects(verifier(`Bearer ${token}`), '3002', 'unknown_kid')
    assert.equal(server.requests.jwks - before, 2, 'inside the window, no refetch at all')

    clock += 9_999
    await assertRejects(verifier(`Bearer ${hostile[0]}`), '3002', 'unknown_kid')
    assert.equal(server.requests.jwks - before, 2)
    clock += 1
    await assertRejects(verifier(`Bearer ${hostile[0]}`), '3002', 'unknown_kid')
    assert.equal(server.requests.jwks - before, 3, 'one more once the window has passed')
  })

  it('picks up a rotated key on its first unknown-kid miss', async () => {
    let clock = 1_700_000_000_000
    const verifier = createVerifier({ issuer: 'bizauth-test', jwksUrl: server.jwksUrl, now: () => clock, clockToleranceSeconds: 1e9 })
    await verifier(`Bearer ${await issueToken(key)}`)
    const next = await createSigningKey('key-2')
    server.setKeys([key.publicJwk, next.publicJwk])
    clock += 10_000
    const before = server.requests.jwks
    assert.equal((await verifier(`Bearer ${await issueToken(next)}`)).sub, 'acme')
    assert.equal(server.requests.jwks - before, 1)
    // The old key still verifies: rotation keeps the retired key published.
    assert.equal((await verifier(`Bearer ${await issueToken(key)}`)).sub, 'acme')
    server.setKeys([key.publicJwk])
  })

  it('refreshes a stale JWKS in the background after its max-age, without delaying known kids', async () => {
    let clock = 1_700_000_000_000
    const verifier = createVerifier({ issuer: 'bizauth-test', jwksUrl: server.jwksUrl, now: () => clock, clockToleranceSeconds: 1e9 })
    const before = server.requests.jwks
    await verifier(`Bearer ${await issueToken(key)}`)
    clock += 299_000
    await verifier(`Bearer ${await issueToken(key)}`)
    assert.equal(server.requests.jwks - before, 1, 'fresh for max-age=300')
    clock += 2_000
    await verifier(`Bearer ${await issueToken(key)}`)
    // The refresh runs in the background: wait for the request to have been counted.
    const deadline = Date.now() + 2000
    while (server.requests.jwks - before < 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve))
    assert.equal(server.requests.jwks - before, 2)
  })

  it('answers 9000 when no JWKS could ever be fetched, and 3002 never', async () => {
    const verifier = createVerifier({ issuer: 'bizauth-test', jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json', requestTimeoutMs: 2000 })
    const errors: Error[] = []
    const logged = createVerifier({ issuer: 'bizauth-test', jwksUrl: `${server.url}/missing`, onError: (error) => errors.push(error) })
    const token = await issueToken(key)
    await assertRejects(verifier(`Bearer ${token}`), '9000', 'jwks_unavailable', token)
    await assertRejects(logged(`Bearer ${token}`), '9000', 'jwks_unavailable', token)
    assert.equal(errors.length, 1)
    assert.ok(!String(errors[0]?.cause).includes(token))
  })
})
