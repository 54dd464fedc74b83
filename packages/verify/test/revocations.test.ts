import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { startFakeBizauthServer, type FakeBizauthServer } from './support/fake-bizauth-server.js'
import { createSigningKey, eventually, issueToken, nowSeconds, type SigningKey } from './support/tokens.js'

function jtiOf(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti
}

describe('revocations feed (offline verifier)', () => {
  let server: FakeBizauthServer
  let key: SigningKey

  before(async () => {
    key = await createSigningKey('key-1')
    server = await startFakeBizauthServer([key.publicJwk])
  })
  after(() => server.close())

  function followingVerifier(pollIntervalMs = 50) {
    return createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { url: server.url, credentials: server.credentials, pollIntervalMs },
    })
  }

  it('rejects a revoked token within 5 s of the revocation, with the default poll interval', async () => {
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { url: server.url, credentials: server.credentials }, // default: every second
    })
    try {
      const token = await issueToken(key)
      await verifier(`Bearer ${token}`)
      server.revokeJti(jtiOf(token), nowSeconds() + 86_400)
      const tookMs = await eventually(() => verifier(`Bearer ${token}`).then(() => false, () => true), 5000, 'the revocation to be seen')
      assert.ok(tookMs <= 5000)
      await assertRejects(verifier(`Bearer ${token}`), '3002', 'revoked', token)
    } finally {
      verifier.close()
    }
  })

  it('rejects a cached token once its account revocation has been seen (no stale cache hit)', async () => {
    const verifier = followingVerifier()
    try {
      const sub = 'cached-account'
      const token = await issueToken(key, { sub, iat: nowSeconds() - 10 })
      const other = await issueToken(key, { sub: 'bystander' })
      await verifier(`Bearer ${token}`)
      await verifier(`Bearer ${token}`)
      assert.ok(verifier.stats().cachedTokens >= 1, 'the token is in the cache')
      const accountsBefore = verifier.stats().revokedAccounts
      server.revokeAccount(sub, nowSeconds())
      await eventually(() => verifier.stats().revokedAccounts > accountsBefore, 5000, 'the account event to arrive')
      // The very next call after the event arrived is already refused, from the cache path.
      await assertRejects(verifier(`Bearer ${token}`), '3002', 'revoked', token)
      assert.equal((await verifier(`Bearer ${other}`)).sub, 'bystander')
      // A token issued after the revocation instant is good.
      const fresh = await issueToken(key, { sub, iat: nowSeconds() + 1 })
      assert.equal((await verifier(`Bearer ${fresh}`)).sub, sub)
    } finally {
      verifier.close()
    }
  })

  it('rejects a cached token once its jti revocation has been seen', async () => {
    const verifier = followingVerifier()
    try {
      const token = await issueToken(key)
      await verifier(`Bearer ${token}`)
      const before = verifier.stats().revokedTokens
      server.revokeJti(jtiOf(token), nowSeconds() + 86_400)
      await eventually(() => verifier.stats().revokedTokens > before, 5000, 'the jti event to arrive')
      await assertRejects(verifier(`Bearer ${token}`), '3002', 'revoked', token)
    } finally {
      verifier.close()
    }
  })

  it('starts from the full snapshot: a token revoked before the verifier started is refused at once', async () => {
    const token = await issueToken(key)
    server.revokeJti(jtiOf(token), nowSeconds() + 86_400)
    const verifier = followingVerifier(60_000)
    try {
      await assertRejects(verifier(`Bearer ${token}`), '3002', 'revoked', token)
      assert.equal(verifier.stats().revocationsSynced, true)
    } finally {
      verifier.close()
    }
  })

  it('reads every page of the first snapshot before accepting a token (the server pages its answers)', async () => {
    server.feedPageSize = 2
    const tokens = await Promise.all(Array.from({ length: 5 }, () => issueToken(key)))
    for (const token of tokens) server.revokeJti(jtiOf(token), nowSeconds() + 86_400)
    const feedRequestsBefore = server.requests.revocations
    const verifier = followingVerifier(60_000)
    try {
      // The last revocation sits on the third page of the snapshot.
      await assertRejects(verifier(`Bearer ${tokens[4]!}`), '3002', 'revoked', tokens[4]!)
      assert.ok(server.requests.revocations - feedRequestsBefore >= 3, 'one request per page')
    } finally {
      server.feedPageSize = Number.POSITIVE_INFINITY
      verifier.close()
    }
  })

  it('prunes revoked jtis once their tokens have expired', async () => {
    const verifier = followingVerifier()
    try {
      await verifier(`Bearer ${await issueToken(key)}`)
      const before = verifier.stats().revokedTokens
      server.revokeJti('long-gone', nowSeconds() - 3600)
      const pollsBefore = verifier.stats().revocationPolls
      await eventually(() => verifier.stats().revocationPolls >= pollsBefore + 2, 5000, 'two more polls')
      assert.equal(verifier.stats().revokedTokens, before)
    } finally {
      verifier.close()
    }
  })

  it('answers 9000 until the first snapshot arrives, and never accepts a token before it', async () => {
    server.failFeed = true
    const errors: Error[] = []
    const verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { url: server.url, credentials: server.credentials, pollIntervalMs: 50, initialSyncTimeoutMs: 200 },
      onError: (error) => errors.push(error),
    })
    try {
      const token = await issueToken(key)
      await assertRejects(verifier(`Bearer ${token}`), '9000', 'revocations_unavailable', token)
      assert.ok(errors.length >= 1)
      assert.ok(errors.every((error) => !String(error.message + String(error.cause)).includes(server.credentials.password)))
      server.failFeed = false
      await eventually(() => verifier.stats().revocationsSynced, 5000, 'the first snapshot')
      assert.equal((await verifier(`Bearer ${token}`)).sub, 'acme')
    } finally {
      server.failFeed = false
      verifier.close()
    }
  })

  it('keeps its last state while the feed fails later, and stops polling on close()', async () => {
    const verifier = followingVerifier()
    const token = await issueToken(key)
    await verifier(`Bearer ${token}`)
    server.failFeed = true
    const polls = verifier.stats().revocationPolls
    await eventually(() => verifier.stats().revocationPolls > polls + 1, 5000, 'failing polls')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'acme')
    server.failFeed = false
    verifier.close()
    const pollsAtClose = verifier.stats().revocationPolls
    // Another verifier polling three times is the clock: several of the closed one's intervals pass.
    const probe = followingVerifier()
    await eventually(() => probe.stats().revocationPolls >= 3, 5000, 'another verifier to poll three times')
    probe.close()
    // At most the poll that was in flight when close() aborted it.
    assert.ok(verifier.stats().revocationPolls - pollsAtClose <= 1)
  })
})
