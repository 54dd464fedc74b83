/**
 * The audit trail through the admin API, on SQLite and PostgreSQL:
 * - GET /admin/v1/audit (issue 10 §2): the events `bizauth audit list --json` prints, filtered by
 *   account, action and time, paged with `cursor`/`next_cursor`; bad input 400 naming the filter;
 *   3005, 3002 and 403 like every admin route. Every answer is checked against the document.
 * - Issue 11: each change made through the admin API appears exactly once in
 *   `bizauth audit list --json` (a child process), by the admin account from the caller's IP,
 *   with its target and changes, and no secret anywhere.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import type { AuditEvent } from '../src/store/store.js'
import { basic } from './helpers/app.js'
import { refusal, startAdminTestApp, type AdminTestApp } from './helpers/admin.js'
import { assertEachChangeOnce, assertNoSecrets, auditCli, listedAuditEvents, succeeded, type CliStore, type ExpectedEvent } from './helpers/audit.js'
import { postgresSkipReason } from './helpers/postgres.js'

const AUDIT_KEY = 'admin-audit-key-for-tests-only-0123'
const ADMIN_ACTOR = { type: 'admin', id: 'root' } as const
/** inject()'s peer address: the source the trail records for the admin API. */
const CALLER_IP = '127.0.0.1'

interface AuditPage {
  events: AuditEvent[]
  next_cursor: string | null
}

const pageOf = (response: LightMyRequestResponse): AuditPage => JSON.parse(response.body) as AuditPage
const bodyOf = (response: LightMyRequestResponse): Record<string, unknown> => JSON.parse(response.body) as Record<string, unknown>

/** How the CLI reaches the test app's store. */
function cliStoreOf(t: AdminTestApp): CliStore {
  return t.config.databaseUrl ? { cliArgs: [], cliEnv: { BIZAUTH_DATABASE_URL: t.config.databaseUrl } } : { cliArgs: ['--data-dir', t.config.dataDir], cliEnv: {} }
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  const skip = dialect === 'postgres' ? await postgresSkipReason() : undefined

  describe(`GET /admin/v1/audit on ${dialect}`, { skip }, () => {
    let t: AdminTestApp
    let adminToken: string
    let viewerToken: string
    before(async () => {
      t = await startAdminTestApp(dialect, { auditKey: AUDIT_KEY })
      adminToken = await t.tokenFor('root', ['admin'])
      viewerToken = await t.tokenFor('support', ['viewer'])
      for (const id of ['acme', 'beta']) await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id, allowed_ips: ['10.0.0.1'] } })
      await t.call('PATCH', '/admin/v1/accounts/acme', { token: adminToken, headers: { 'if-match': '*' }, body: { status: 'suspended' } })
    })
    after(async () => {
      assert.ok(t.documented.checked > 0)
      await t.close()
    })

    const audit = (query: string, token = viewerToken) => t.call('GET', `/admin/v1/audit${query ? `?${query}` : ''}`, { token })

    it('answers the events `bizauth audit list --json` prints, by the admin account from its address', async () => {
      const answer = await audit('')
      assert.equal(answer.statusCode, 200, answer.body)
      const page = pageOf(answer)
      assert.equal(page.next_cursor, null)
      const ours = page.events.filter((event) => event.target === 'acme' || event.target === 'beta')
      assert.deepEqual(ours.map((event) => [event.action, event.target]), [['account.create', 'acme'], ['account.create', 'beta'], ['account.suspend', 'acme']])
      for (const event of ours) {
        assert.deepEqual(event.actor, ADMIN_ACTOR)
        assert.equal(event.source, CALLER_IP)
      }
      // One mapping for both: the API's events are the CLI's JSON lines, field for field and in order.
      const { events: listed } = await listedAuditEvents(cliStoreOf(t))
      assert.equal(JSON.stringify(page.events), JSON.stringify(listed))
    })

    it('filters by account, action and time', async () => {
      const acme = pageOf(await audit('account=acme')).events
      assert.deepEqual(acme.map((event) => event.action), ['account.create', 'account.suspend'])
      const creations = pageOf(await audit('action=account.create')).events
      assert.deepEqual(creations.map((event) => event.target), ['acme', 'beta'])
      assert.deepEqual(pageOf(await audit('account=acme&action=account.create')).events.length, 1)
      const first = acme[0]!
      assert.equal(pageOf(await audit(`account=acme&since=${encodeURIComponent(first.time)}`)).events.length, 2, 'since: at or after')
      assert.equal(pageOf(await audit(`account=acme&until=${encodeURIComponent(first.time)}`)).events.length, 0, 'until: before')
      assert.equal(pageOf(await audit('since=2999-01-01')).events.length, 0)
      assert.equal(pageOf(await audit('until=2000-01-01T00:00:00Z')).events.length, 0)
      // Without an offset a time is KST, as the CLI reads it: 09:00 KST is 00:00 UTC.
      const kst = pageOf(await audit(`since=${encodeURIComponent(first.time.slice(0, 10))}T00:00:00Z&account=acme`)).events.length
      assert.equal(pageOf(await audit(`since=${encodeURIComponent(`${first.time.slice(0, 10)} 09:00:00`)}&account=acme`)).events.length, kst)
    })

    it('pages with cursor and next_cursor until null', async () => {
      const everything = pageOf(await audit('limit=1000')).events
      assert.ok(everything.length >= 3)
      const seen: number[] = []
      let cursor: string | null = ''
      let pages = 0
      while (cursor !== null) {
        const page: AuditPage = pageOf(await audit(`limit=2${cursor ? `&cursor=${cursor}` : ''}`))
        assert.ok(page.events.length <= 2)
        seen.push(...page.events.map((event) => event.seq))
        cursor = page.next_cursor
        pages++
      }
      assert.deepEqual(seen, everything.map((event) => event.seq))
      assert.equal(pages, Math.ceil(everything.length / 2))
      assert.deepEqual(pageOf(await audit(`cursor=${everything.at(-1)!.seq}`)), { events: [], next_cursor: null })
    })

    it('answers bad input with 400 naming the filter', async () => {
      const cases: Array<[string, string]> = [
        ['since=yesterday', 'since'],
        ['since=2026-02-30', 'since'],
        ['until=2026-01-01T25:00:00Z', 'until'],
        ['until=', 'until'],
        ['limit=0', 'limit'],
        ['limit=1001', 'limit'],
        ['limit=abc', 'limit'],
        ['limit=-5', 'limit'],
        ['cursor=-1', 'cursor'],
        ['cursor=seq-3', 'cursor'],
        ['cursor=1e3', 'cursor'],
        ['action=account.explode', 'action'],
        ['account=bad%20id', 'account'],
        ['page=2', 'page'],
      ]
      for (const [query, field] of cases) {
        const answer = await audit(query)
        assert.equal(answer.statusCode, 400, `${query}: ${answer.body}`)
        assert.deepEqual(Object.keys(bodyOf(answer)).sort(), ['code', 'description'])
        assert.ok(refusal(answer).description.startsWith(`${field}:`), `${query}: ${answer.body}`)
      }
      assert.match(refusal(await audit('limit=1001')).description, /^limit: takes a whole number from 1 to 1000$/)
    })

    it('3005 without a Bearer, 3002 for a bad token, 403 for an account without admin or viewer', async () => {
      for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
        const answer = await t.call('GET', '/admin/v1/audit', { headers: authorization ? { authorization } : {} })
        assert.deepEqual([answer.statusCode, refusal(answer).code], [400, '3005'], String(authorization))
      }
      for (const token of ['nope', `${adminToken}x`]) assert.deepEqual([(await audit('', token)).statusCode, refusal(await audit('', token)).code], [400, '3002'])
      const plain = await t.tokenFor('plain', ['introspect'])
      const forbidden = await audit('', plain)
      assert.deepEqual([forbidden.statusCode, refusal(forbidden).code], [403, '3005'])
      assert.match(refusal(forbidden).description, /admin or viewer/)
      assert.equal((await audit('', adminToken)).statusCode, 200, 'an admin reads too')
    })

    it('is in the OpenAPI document with its query parameters and its page schema', async () => {
      const operation = (t.documented.document.paths['/admin/v1/audit'] as Record<string, { parameters?: Array<{ name: string; in: string }> }> | undefined)?.get
      assert.ok(operation, 'GET /admin/v1/audit is documented')
      assert.deepEqual(operation.parameters?.filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name).sort(), ['account', 'action', 'cursor', 'limit', 'since', 'until'])
    })
  })

  describe(`each change through the admin API, in bizauth audit list --json, on ${dialect}`, { skip }, () => {
    it('appears exactly once, by the admin account from its IP, with its target and changes, and no secret', async (context) => {
      const t = await startAdminTestApp(dialect, { auditKey: AUDIT_KEY })
      context.after(() => t.close())
      const cliStore = cliStoreOf(t)
      const adminToken = await t.tokenFor('root', ['admin'])
      await t.createAccount('holder', 'holder-password-1')
      const holderToken = (JSON.parse((await t.token(basic('holder', 'holder-password-1'))).body) as { accesstoken: string }).accesstoken
      // What the server recorded before the first admin change (its first key, if any).
      const { events: earlier } = await listedAuditEvents(cliStore)

      const ok = async (method: string, url: string, body?: unknown): Promise<Record<string, unknown>> => {
        const answer = await t.call(method, url, { token: adminToken, body, headers: method === 'PATCH' ? { 'if-match': '*' } : {} })
        assert.ok(answer.statusCode === 200 || answer.statusCode === 201, `${method} ${url}: ${answer.body}`)
        return bodyOf(answer)
      }
      const first = 'first-Secret-pw-1'
      const second = 'second-Secret-pw-2'
      const acme = '/admin/v1/accounts/acme'
      await ok('POST', '/admin/v1/accounts', { id: 'acme', allowed_ips: ['10.0.0.0/24'], roles: ['introspect'], password: first })
      await ok('POST', `${acme}/password`, { password: second })
      const generated = String((await ok('POST', `${acme}/password`, { keep_previous_for_seconds: 3600 })).password)
      await ok('PATCH', acme, { status: 'suspended' })
      await ok('PATCH', acme, { status: 'active' })
      await ok('PATCH', acme, { allowed_ips: ['10.0.0.0/24', '192.0.2.7'] })
      await ok('PATCH', acme, { allowed_ips: ['192.0.2.7'] })
      await ok('PATCH', acme, { roles: [] })
      await ok('PATCH', acme, { roles: ['introspect'] })
      await ok('POST', `${acme}/revoke-tokens`)
      await ok('POST', `${acme}/unlock`)
      await ok('POST', `${acme}/drop-previous-password`)
      const oldKey = t.services.keys.current.kid
      const nextKey = String(((await ok('POST', '/admin/v1/keys/rotate')).key as { kid: string }).kid)
      const nowKey = String(((await ok('POST', '/admin/v1/keys/rotate', { now: true })).key as { kid: string }).kid)
      assert.equal(nowKey, nextKey, 'the waiting next key became current')
      const revoked = String((await ok('POST', '/admin/v1/tokens/revoke', { token: holderToken })).jti)
      const hash = (await t.store.getAccount('acme'))!.passwordHash
      await ok('DELETE', acme)

      const { events: all, text } = await listedAuditEvents(cliStore)
      const expected: ExpectedEvent[] = [
        ['account.create', 'acme', { allowed_ips: [null, ['10.0.0.0/24']], roles: [null, ['introspect']], status: [null, 'active'] }],
        ['account.set_password', 'acme', { password: [false, true] }],
        ['account.set_password', 'acme', { password: [false, true] }],
        ['account.suspend', 'acme', { status: ['active', 'suspended'] }],
        ['account.resume', 'acme', { status: ['suspended', 'active'] }],
        ['account.allow_ip', 'acme', { allowed_ips: [['10.0.0.0/24'], ['10.0.0.0/24', '192.0.2.7/32']] }],
        ['account.deny_ip', 'acme', { allowed_ips: [['10.0.0.0/24', '192.0.2.7/32'], ['192.0.2.7/32']] }],
        ['account.revoke_role', 'acme', { roles: [['introspect'], []] }],
        ['account.grant_role', 'acme', { roles: [[], ['introspect']] }],
        ['account.revoke_tokens', 'acme'],
        ['account.unlock', 'acme'],
        ['account.drop_previous_password', 'acme'],
        ['key.create', nextKey, { state: [null, 'next'] }],
        // With a next key waiting, rotating now promotes that one: one next key at most (issue 9 §5).
        ['key.retire', oldKey, { state: ['current', 'retired'] }],
        ['key.promote', nowKey, { state: ['next', 'current'] }],
        ['token.revoke', revoked, { revoked: [false, true] }],
        ['account.delete', 'acme', { status: ['active', null] }],
      ]
      const events = all.slice(earlier.length).map((event) => ({ ...event, seq: event.seq - earlier.length }))
      assertEachChangeOnce(events, expected, ADMIN_ACTOR, CALLER_IP)
      assert.ok(events[1]!.changes.tokens_valid_after, 'a password change revokes earlier tokens')
      assert.equal(events[2]!.changes.tokens_valid_after, undefined, 'a kept previous password revokes nothing')
      assert.ok(events[2]!.changes.previous_password_until, 'and the trail says until when the previous one works')
      assert.ok(events[9]!.changes.tokens_valid_after, 'revoke-tokens moves valid-after')

      const privateMaterial = (await t.store.listKeys()).map((key) => key.privateMaterial)
      assertNoSecrets(text, [first, second, generated, hash, adminToken, holderToken, holderToken.split('.')[2]!, 'root-pw', 'holder-password-1', ...privateMaterial])
      assert.match(await succeeded(auditCli(cliStore, ['audit', 'verify'], { auditKey: AUDIT_KEY })), new RegExp(`^ok: ${all.length} events verified \\(hmac-sha256\\)$`, 'm'))
    })
  })
}
