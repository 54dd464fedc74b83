/**
 * Revocation propagation (issue 4 §2, Tests): an offline @bizauth/verify verifier following the
 * server's changes feed over real HTTP rejects a revoked token within 5 s of the revocation,
 * whether the holder revoked it (POST /v1/token/revoke) or an operator did with the real CLI in
 * another process (token revoke, account revoke-tokens, set-password, delete).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createVerifier, type Verifier } from '@bizauth/verify'
import { basic, decodeJwtPart, startTestApp, type TestApp } from './helpers/app.js'
import { runCli } from './helpers/cli.js'
import { waitFor } from './helpers/wait-for.js'

const PROPAGATION_LIMIT_MS = 5000
const CLI_ENV = { BIZAUTH_ARGON2_MEMORY: '1024', BIZAUTH_ARGON2_TIME: '1', BIZAUTH_ARGON2_PARALLELISM: '1' }

describe('revocation propagation to an offline verifier', () => {
  let t: TestApp
  let baseUrl: string
  let verifier: Verifier

  async function issue(account: string, password = 'pw'): Promise<string> {
    const response = await t.token(basic(account, password))
    assert.equal(response.statusCode, 200, response.body)
    return String((JSON.parse(response.body) as { accesstoken: string }).accesstoken)
  }

  /** Resolves to how long after `since` the verifier started refusing the token; fails past the limit. */
  async function refusedWithin(token: string, since: number): Promise<number> {
    await waitFor(
      () =>
        verifier(`Bearer ${token}`).then(
          () => undefined,
          (error: { code?: string }) => (error.code === '3002' ? true : undefined),
        ),
      { timeoutMs: PROPAGATION_LIMIT_MS - (Date.now() - since), intervalMs: 50, what: 'the verifier to refuse the revoked token' },
    )
    const elapsed = Date.now() - since
    assert.ok(elapsed <= PROPAGATION_LIMIT_MS, `refused after ${elapsed} ms`)
    return elapsed
  }

  async function introspectActive(token: string): Promise<boolean> {
    const response = await t.app.inject({
      method: 'POST',
      url: '/v1/token/introspect',
      headers: { authorization: basic('rs', 'rs-pw'), 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${token}`,
    })
    return (JSON.parse(response.body) as { active: boolean }).active
  }

  before(async () => {
    t = await startTestApp()
    for (const id of ['holder', 'by-jti', 'by-account', 'by-password', 'by-delete']) await t.createAccount(id, 'pw')
    await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
    baseUrl = await t.app.listen({ host: '127.0.0.1', port: 0 })
    // The verifier's default poll interval (1 s): what a resource server would run.
    verifier = createVerifier({
      issuer: 'bizauth',
      jwksUrl: `${baseUrl}/.well-known/jwks.json`,
      revocations: { url: baseUrl, credentials: { account: 'rs', password: 'rs-pw' } },
    })
  })
  after(async () => {
    verifier?.close()
    await t?.close()
  })

  it('the holder revokes its token over HTTP', async () => {
    const token = await issue('holder')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'holder', 'accepted (and cached) first')
    const since = Date.now()
    const response = await fetch(`${baseUrl}/v1/token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    assert.equal(response.status, 200)
    await refusedWithin(token, since)
  })

  it('`bizauth token revoke <token>` from another process (token read from stdin)', async () => {
    const token = await issue('by-jti')
    const other = await issue('by-jti')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'by-jti')
    const since = Date.now()
    const result = await runCli(['token', 'revoke', '-', '--data-dir', t.dataDir], { input: `${token}\n` })
    assert.equal(result.code, 0, result.stderr)
    assert.ok(result.stdout.includes(String(decodeJwtPart(token, 1).jti)))
    assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), 'the token is never printed')
    await refusedWithin(token, since)
    assert.equal(await introspectActive(token), false)
    assert.equal((await verifier(`Bearer ${other}`)).sub, 'by-jti', 'only that token is revoked')
    assert.equal(await introspectActive(other), true)
  })

  it('`bizauth token revoke <jti>` with a bare jti', async () => {
    const token = await issue('by-jti')
    assert.equal(await introspectActive(token), true)
    const since = Date.now()
    const result = await runCli(['token', 'revoke', String(decodeJwtPart(token, 1).jti), '--data-dir', t.dataDir])
    assert.equal(result.code, 0, result.stderr)
    await refusedWithin(token, since)
    // The server's own cache hit sees it through its feed follower.
    await waitFor(async () => ((await introspectActive(token)) ? undefined : true), { timeoutMs: PROPAGATION_LIMIT_MS, what: 'introspection to see it' })
  })

  it('`bizauth token revoke -- <jti>` takes an id that starts with "-" (any issuer\'s base64url jti can)', async () => {
    const result = await runCli(['token', 'revoke', '--data-dir', t.dataDir, '--', '-Hx_9'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await t.store.isJtiRevoked('-Hx_9'), true)
  })

  it('`bizauth account revoke-tokens`, and a token issued afterwards is valid', async () => {
    const token = await issue('by-account')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'by-account')
    assert.equal(await introspectActive(token), true)
    const since = Date.now()
    const result = await runCli(['account', 'revoke-tokens', 'by-account', '--data-dir', t.dataDir])
    assert.equal(result.code, 0, result.stderr)
    await refusedWithin(token, since)
    await waitFor(async () => ((await introspectActive(token)) ? undefined : true), { timeoutMs: PROPAGATION_LIMIT_MS, what: 'introspection to see it' })
    const fresh = await issue('by-account')
    assert.equal((await verifier(`Bearer ${fresh}`)).sub, 'by-account')
    assert.equal(await introspectActive(fresh), true)
  })

  it('`bizauth account set-password` revokes earlier tokens', async () => {
    const token = await issue('by-password')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'by-password')
    const since = Date.now()
    const result = await runCli(['account', 'set-password', 'by-password', '--password-stdin', '--data-dir', t.dataDir], { input: 'new-password\n', env: CLI_ENV })
    assert.equal(result.code, 0, result.stderr)
    await refusedWithin(token, since)
    assert.equal(await introspectActive(token), false)
  })

  it('`bizauth account delete` revokes the account\'s tokens before deleting it', async () => {
    const token = await issue('by-delete')
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'by-delete')
    assert.equal(await introspectActive(token), true, 'cached by the server too')
    const since = Date.now()
    const result = await runCli(['account', 'delete', 'by-delete', '--data-dir', t.dataDir])
    assert.equal(result.code, 0, result.stderr)
    await refusedWithin(token, since)
    await waitFor(async () => ((await introspectActive(token)) ? undefined : true), { timeoutMs: PROPAGATION_LIMIT_MS, what: 'introspection to see it' })
  })
})
