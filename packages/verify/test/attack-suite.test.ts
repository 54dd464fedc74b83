import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier, type Verifier } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { startFakeBizauthServer, type FakeBizauthServer } from './support/fake-bizauth-server.js'
import { acceptedTokens, corpusSigner, refusedTokens, type RefusedToken, type TokenCorpusContext } from './support/token-corpus.js'
import { createSigningKey, eventually, ISSUER, issueToken, newJti, nowSeconds, type SigningKey } from './support/tokens.js'

// The issue's attack suite: hostile tokens (built in support/token-corpus.ts, which the server's
// token-core test shares), each of which must be refused with 3002 (or 3005 where the header
// itself is malformed), against a verifier wired the way a resource server wires it: JWKS over
// HTTP and the revocations feed.
describe('attack suite', () => {
  let server: FakeBizauthServer
  let key: SigningKey
  let verifier: Verifier
  let corpus: TokenCorpusContext

  before(async () => {
    key = await createSigningKey('key-1')
    corpus = { signer: corpusSigner(key.kid, key.privateKey), issuer: ISSUER, sub: 'acme', nowSeconds: nowSeconds() }
    server = await startFakeBizauthServer([key.publicJwk])
    verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { url: server.url, credentials: server.credentials, pollIntervalMs: 50 },
      clockToleranceSeconds: 5,
    })
  })
  after(async () => {
    verifier.close()
    await server.close()
  })

  const bearer = (token: string) => `Bearer ${token}`

  it('accepts a genuine token and resolves to its claims', async () => {
    const token = await issueToken(key, { sub: 'acme' })
    const claims = await verifier(bearer(token))
    assert.equal(claims.sub, 'acme')
    assert.equal(claims.iss, 'bizauth-test')
    assert.ok(Object.isFrozen(claims))
  })

  /** Every token of the corpus group is refused with its code and reason, and never leaks into the error. */
  async function refusesGroup(group: string): Promise<void> {
    const cases = refusedTokens(corpus).filter((refused) => refused.group === group)
    assert.ok(cases.length > 0, `the corpus has tokens for ${group}`)
    for (const refused of cases) await refuses(refused)
  }

  async function refuses({ name, token, code, reason }: RefusedToken): Promise<void> {
    await assertRejects(verifier(bearer(token)), code, reason, token).catch((error: Error) => {
      throw new Error(`${name}: ${error.message}`, { cause: error })
    })
  }

  it('refuses alg "none" in every spelling, with or without a signature', () => refusesGroup('alg-none'))
  it('refuses HS256 signed with the public key bytes (algorithm confusion)', () => refusesGroup('alg-confusion'))
  it('refuses an algorithm the key does not have (ES256 header on an Ed25519 kid)', () => refusesGroup('alg-mismatch'))
  it('refuses a swapped payload', () => refusesGroup('swapped-payload'))
  it('refuses a truncated or emptied signature', () => refusesGroup('truncated-signature'))
  it('refuses a token signed by another key under the same kid', () => refusesGroup('other-key'))
  it('refuses unknown kids, including path and SQL syntax, and a missing or non-string kid', () => refusesGroup('unknown-kid'))
  it('refuses expired, not yet valid, future-issued and too long-lived tokens, a wrong or missing issuer, mistyped claims', () =>
    refusesGroup('claims'))
  it('refuses a typ other than JWT', () => refusesGroup('typ'))
  it('refuses a 1 MB token before parsing it', () => refusesGroup('too-large'))
  it('refuses non-JSON segments, even under a valid signature', () => refusesGroup('bad-json'))
  it('refuses bad base64url: padding, standard-alphabet characters, impossible lengths, non-canonical bits', () => refusesGroup('bad-base64url'))
  it('refuses the wrong number of segments and an unknown crit extension', async () => {
    await refusesGroup('segments')
    await refusesGroup('extensions')
  })

  it('accepts the edges of the rules: typ absent or in another case, iat just ahead, 24 h plus the tolerance', async () => {
    for (const { name, token } of acceptedTokens(corpus)) {
      assert.equal((await verifier(bearer(token))).sub, 'acme', name)
    }
  })

  it('accepts a token just inside the clock tolerance and refuses it just outside', async () => {
    const now = nowSeconds()
    const inside = await issueToken(key, { iat: now - 86_000, exp: now - 2 })
    assert.equal((await verifier(bearer(inside))).exp, now - 2)
    const outside = await issueToken(key, { iat: now - 86_000, exp: now - 10 })
    await assertRejects(verifier(bearer(outside)), '3002', 'expired', outside)
  })

  it('refuses a token revoked by jti, by account, and one issued before a password change', async () => {
    const now = nowSeconds()
    const byJti = await issueToken(key, { sub: 'one' })
    const byAccount = await issueToken(key, { sub: 'two' })
    const beforePasswordChange = await issueToken(key, { sub: 'three', iat: now - 60 })
    const afterPasswordChange = await issueToken(key, { sub: 'three', iat: now + 1 })
    for (const token of [byJti, byAccount, beforePasswordChange]) await verifier(bearer(token))

    server.revokeJti(JSON.parse(Buffer.from(byJti.split('.')[1]!, 'base64url').toString()).jti, now + 86_400)
    server.revokeAccount('two', now + 1)
    server.revokeAccount('three', now) // what the server records when the password changes
    const isRejected = (token: string) => verifier(bearer(token)).then(() => false, () => true)
    await eventually(async () => (await isRejected(byJti)) && (await isRejected(byAccount)) && (await isRejected(beforePasswordChange)), 5000, 'revocations seen')
    for (const token of [byJti, byAccount, beforePasswordChange]) await assertRejects(verifier(bearer(token)), '3002', 'revoked', token)
    assert.equal((await verifier(bearer(afterPasswordChange))).sub, 'three')
  })

  it('answers 3005 for a header that is not "Bearer <b64token>"', async () => {
    const token = await issueToken(key)
    await assertRejects(verifier(undefined), '3005', 'missing_header')
    await assertRejects(verifier(''), '3005', 'missing_header')
    await assertRejects(verifier(['Bearer x.y.z']), '3005', 'malformed_header')
    await assertRejects(verifier(`Basic ${token}`), '3005', 'not_bearer', token)
    await assertRejects(verifier(token), '3005', 'not_bearer', token)
    await assertRejects(verifier(`Bearer  ${token}`), '3005', 'malformed_header', token)
    await assertRejects(verifier(`Bearer ${token} `), '3005', 'malformed_header', token)
    await assertRejects(verifier(`Bearer\t${token}`), '3005', 'not_bearer', token)
    await assertRejects(verifier('Bearer '), '3005', 'malformed_header')
    await assertRejects(verifier('Bearer'), '3005', 'not_bearer')
    await assertRejects(verifier(`Bearer ${token}!`), '3005', 'malformed_header', token)
    // The scheme is case-insensitive (RFC 7235 §2.1).
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) assert.equal((await verifier(`${scheme} ${token}`)).sub, 'acme')
  })

  it('never puts the token in the error, even for a valid-looking but revoked or expired one', async () => {
    const now = nowSeconds()
    const token = await issueToken(key, { iat: now - 90_000, exp: now - 3600, jti: newJti() })
    const error = await assertRejects(verifier(bearer(token)), '3002', 'expired', token)
    assert.deepEqual(JSON.parse(JSON.stringify(error)), { code: '3002', description: 'The token is invalid.' })
  })
})
