/**
 * One definition of a valid token (issue 8): the same corpus of tokens goes through the server's
 * introspection (a real app, over HTTP, with an `introspect` account) and through a real
 * @bizauth/verify verifier pointed at that server's JWKS and revocations feed, and the two must
 * agree token by token: active or not, and with the same reason wherever both name one.
 *
 * The corpus is the verifier's own attack suite (@bizauth/verify/test-support), signed here with
 * the server's real signing key wherever a case needs a valid signature, plus the edges of the
 * rules, a revoked jti and a deleted account's token.
 */
import assert from 'node:assert/strict'
import type { JsonWebKey } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createVerifier, isVerifyError, type Verifier } from '@bizauth/verify'
import {
  acceptedTokens,
  corpusSigner,
  refusedTokens,
  type RefusedToken,
  type TokenCorpusContext,
} from '@bizauth/verify/test-support'
import { AccountAdministration } from '../src/accounts/administration.js'
import { createKeyEncryption } from '../src/keys/key-encryption.js'
import { TOKEN_VERIFIER_DEFAULTS, type TokenVerdict } from '../src/tokens/verify-token.js'
import { basic, startTestApp, type TestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

/** What each side said about one token. */
interface Verdicts {
  /** The HTTP answer of POST /v1/token/introspect. */
  introspected: boolean
  /** The server's verdict with its reason: what the introspection route answered from. */
  server: TokenVerdict
  /** The verifier's: claims, or the VerifyError's code and reason. */
  verifier: { accepted: true } | { accepted: false; code: string; reason: string }
}

describe('one token core: introspection and @bizauth/verify agree on every token', () => {
  let t: TestApp
  let verifier: Verifier
  let context: TokenCorpusContext

  before(async () => {
    t = await startTestApp()
    await t.createAccount('acme', 'acme-pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    const baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 })
    verifier = createVerifier({
      issuer: t.config.issuer,
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      revocations: { url: baseUrl, credentials: { account: 'rs', password: 'rs-pw' }, pollIntervalMs: 50 },
      // The server's margin, stated: the two must draw every time line at the same instant.
      clockToleranceSeconds: TOKEN_VERIFIER_DEFAULTS.clockToleranceSeconds,
    })
    context = { signer: await serverSigner(t), issuer: t.config.issuer, sub: 'acme', nowSeconds: Math.floor(Date.now() / 1000) }
  })
  after(async () => {
    verifier?.close()
    await t?.close()
  })

  async function verdictsOf(token: string): Promise<Verdicts> {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/token/introspect',
      headers: { authorization: basic('rs', 'rs-pw'), 'content-type': 'application/json' },
      payload: JSON.stringify({ token }),
    })
    assert.equal(response.statusCode, 200, response.body)
    const introspected = (JSON.parse(response.body) as { active: boolean }).active
    // No reason on the wire: an inactive token is exactly {"active":false}.
    if (!introspected) assert.equal(response.body, '{"active":false}')
    const server = await t.services.tokenVerifier.verify(token)
    const verified = await verifier(`Bearer ${token}`).then(
      () => ({ accepted: true as const }),
      (error: unknown) => {
        if (!isVerifyError(error)) throw error
        return { accepted: false as const, code: error.code, reason: error.reason }
      },
    )
    return { introspected, server, verifier: verified }
  }

  /**
   * The two agree: both active, or both not. Where the verifier refuses the token itself (3002),
   * its reason is the server's. A 3005 is the verifier's word for a credential that is not even
   * RFC 6750 b64token: a header problem, which introspection (token in the body) has no name for.
   */
  function assertAgree(name: string, verdicts: Verdicts): void {
    const { introspected, server, verifier: verified } = verdicts
    assert.equal(server.active, introspected, `${name}: the introspection answer is the server's verdict`)
    assert.equal(verified.accepted, introspected, `${name}: introspection says ${introspected ? 'active' : 'inactive'}, the verifier ${JSON.stringify(verified)}`)
    if (!server.active && !verified.accepted && verified.code === '3002') {
      assert.equal(server.reason, verified.reason, `${name}: the same reason`)
    }
  }

  it('accepts the same tokens: a plain valid one, typ missing or in another case, the edges of the time rules', async () => {
    const accepted = acceptedTokens(context)
    assert.ok(accepted.some(({ name }) => name.startsWith('typ missing')))
    for (const { name, token } of accepted) {
      const verdicts = await verdictsOf(token)
      assertAgree(name, verdicts)
      assert.equal(verdicts.introspected, true, name)
    }
  })

  it('refuses the same tokens for the same reasons: the attack suite, typ "at+jwt", iat 10 minutes ahead, a 25-hour lifetime', async () => {
    const refused = refusedTokens(context)
    for (const name of ['typ "at+jwt" (RFC 9068 access token, not ours)', 'iat 10 minutes in the future', 'a 25-hour lifetime']) {
      assert.ok(refused.some((entry) => entry.name === name), `the corpus holds ${name}`)
    }
    for (const entry of refused) {
      const verdicts = await verdictsOf(entry.token)
      assertAgree(entry.name, verdicts)
      assertExpected(entry, verdicts)
    }
  })

  it('refuses a revoked jti on both sides, with reason "revoked"', async () => {
    const token = await issue('acme', 'acme-pw')
    assertAgree('before the revocation', await verdictsOf(token))
    const revoked = await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })
    assert.equal(revoked.statusCode, 200, revoked.body)
    await refusedByVerifier(token)
    const verdicts = await verdictsOf(token)
    assertAgree('a revoked jti', verdicts)
    assert.deepEqual(verdicts.server, { active: false, reason: 'revoked', revokedBy: 'jti' })
  })

  it("refuses a deleted account's token on both sides, with reason \"revoked\"", async () => {
    await t.createAccount('gone', 'gone-pw')
    const token = await issue('gone', 'gone-pw')
    assertAgree('before the deletion', await verdictsOf(token))
    // What `bizauth account delete gone` does: revoke the account's tokens and delete it, in one transaction.
    const deleted = await new AccountAdministration({ store: t.store, hasher: t.services.hasher, audit: t.services.auditWriter({ type: 'cli', id: 'test' }) }).delete('gone')
    assert.equal(deleted.after, undefined)
    await t.services.revocationFollower.catchUp()
    await refusedByVerifier(token)
    const verdicts = await verdictsOf(token)
    assertAgree("a deleted account's token", verdicts)
    assert.equal(verdicts.server.active === false && verdicts.server.reason, 'revoked')
    // Not cached and not in the feed (deleted straight in the store): only the server can tell.
    t.services.tokenVerifier.clearCache()
    t.services.revocations.prune(Number.MAX_SAFE_INTEGER, 0)
    assert.deepEqual(await t.services.tokenVerifier.verify(token), { active: false, reason: 'account_missing' })
  })

  async function issue(account: string, password: string): Promise<string> {
    const response = await t.token(basic(account, password))
    assert.equal(response.statusCode, 200, response.body)
    return String((JSON.parse(response.body) as { accesstoken: string }).accesstoken)
  }

  async function refusedByVerifier(token: string): Promise<void> {
    await waitFor(
      () => verifier(`Bearer ${token}`).then(() => undefined, (error: { reason?: string }) => (error.reason === 'revoked' ? true : undefined)),
      { what: 'the verifier to see the revocation in the feed' },
    )
  }
})

/** The corpus's expectation holds for the verifier (and so, by agreement, for the server). */
function assertExpected(entry: RefusedToken, verdicts: Verdicts): void {
  assert.equal(verdicts.verifier.accepted, false, entry.name)
  if (verdicts.verifier.accepted) return
  assert.equal(verdicts.verifier.code, entry.code, entry.name)
  if (entry.reason !== undefined) assert.equal(verdicts.verifier.reason, entry.reason, entry.name)
}

/** The server's current signing key, read back from its store the way the server loads it. */
async function serverSigner(t: TestApp) {
  const { kid } = t.services.keys.current
  const record = (await t.store.listKeys()).find((key) => key.kid === kid)
  assert.ok(record, 'the current key is in the store')
  const privateJwk = JSON.parse(createKeyEncryption(t.config.keyEncryptionKey).open(record.privateMaterial, kid)) as JsonWebKey
  return corpusSigner(kid, privateJwk)
}
