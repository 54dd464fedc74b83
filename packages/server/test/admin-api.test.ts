/**
 * The admin API (issue 10 §2) over HTTP, on SQLite and PostgreSQL: every endpoint with its
 * bad input and its 3005, 3002, 403, 404, 409 and 412 answers. Every answer is checked against
 * its route's schema in the generated OpenAPI document.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { postgresSkipReason } from './helpers/postgres.js'
import { basic } from './helpers/app.js'
import { refusal, startAdminTestApp, type AdminTestApp } from './helpers/admin.js'

const json = (response: { body: string }) => JSON.parse(response.body) as Record<string, any>

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`the admin API on ${dialect}`, { skip: dialect === 'postgres' ? await postgresSkipReason() : undefined }, () => {
    let t: AdminTestApp
    let adminToken: string
    let viewerToken: string
    before(async () => {
      t = await startAdminTestApp(dialect)
      adminToken = await t.tokenFor('root', ['admin'])
      viewerToken = await t.tokenFor('support', ['viewer'])
    })
    after(async () => {
      assert.ok(t.documented.checked > 0)
      await t.close()
    })

    it('creates an account with a generated password shown once, which gets a token', async () => {
      const created = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'acme', allowed_ips: ['127.0.0.1'] } })
      assert.equal(created.statusCode, 201, created.body)
      const body = json(created)
      assert.equal(body.account.id, 'acme')
      assert.deepEqual(body.account.allowed_ips, ['127.0.0.1/32'])
      assert.equal(typeof body.password, 'string')
      assert.equal(created.headers.etag, '"v1"')
      assert.equal((await t.token(basic('acme', body.password))).statusCode, 200)
      const shown = await t.call('GET', '/admin/v1/accounts/acme', { token: adminToken })
      assert.equal(shown.statusCode, 200)
      assert.ok(!shown.body.includes(body.password), 'the password is in the creating answer only')
      assert.equal(shown.headers.etag, '"v1"')

      const given = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'given', allowed_ips: [], roles: ['introspect'], password: 'chosen-password-1' } })
      assert.equal(given.statusCode, 201)
      assert.equal(json(given).password, undefined, 'a given password is never echoed')
      assert.ok(!given.body.includes('chosen-password-1'))
      // The password policy holds through the API as through the CLI, and says what is missing.
      const weak = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'weak', allowed_ips: [], password: 'short' } })
      assert.equal(weak.statusCode, 400, weak.body)
      assert.match(json(weak).description, /at least 10/)
      assert.ok(!weak.body.includes('"short"'), 'the refused password is not echoed')
    })

    it('refuses a duplicate id with 409 and an unknown account with 404', async () => {
      await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'dup', allowed_ips: ['10.0.0.0/8'] } })
      const again = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'dup', allowed_ips: ['10.0.0.0/8'] } })
      assert.deepEqual([refusal(again).status, refusal(again).code], [409, '3004'])
      for (const [method, url, body] of [
        ['GET', '/admin/v1/accounts/ghost', undefined],
        ['POST', '/admin/v1/accounts/ghost/password', {}],
        ['POST', '/admin/v1/accounts/ghost/revoke-tokens', undefined],
        ['POST', '/admin/v1/accounts/ghost/unlock', undefined],
        ['POST', '/admin/v1/accounts/ghost/drop-previous-password', undefined],
        ['DELETE', '/admin/v1/accounts/ghost', undefined],
      ] as const) {
        const answer = await t.call(method, url, { token: adminToken, body })
        assert.deepEqual([answer.statusCode, refusal(answer).code], [404, '3006'], `${method} ${url}`)
        assert.match(refusal(answer).description, /ghost/)
      }
      const patch = await t.call('PATCH', '/admin/v1/accounts/ghost', { token: adminToken, body: {}, headers: { 'if-match': '"v1"' } })
      assert.equal(patch.statusCode, 404)
    })

    it('answers bad input with 400 naming the field, never a framework body', async () => {
      const cases: Array<[unknown, string, string?]> = [
        [{ id: 'x' }, 'allowed_ips'],
        [{ id: 'x', allowed_ips: ['10.0.0.1'], nickname: 'y' }, 'nickname'],
        [{ id: 7, allowed_ips: [] }, 'id', '3004'],
        [{ id: 'bad id', allowed_ips: [] }, 'id', '3004'],
        [{ id: 'x', allowed_ips: ' 10.0.0.1' }, 'allowed_ips', '3003'],
        [{ id: 'x', allowed_ips: ['10.0.0.300'] }, 'allowed_ips', '3003'],
        [{ id: 'x', allowed_ips: [], roles: ['root'] }, 'roles'],
        [{ id: 'x', allowed_ips: [], password: 5 }, 'password'],
        [[], 'body'],
        ['text', 'body'],
      ]
      for (const [body, field, code] of cases) {
        const answer = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body })
        assert.equal(answer.statusCode, 400, `${JSON.stringify(body)}: ${answer.body}`)
        assert.ok(refusal(answer).description.startsWith(`${field}:`), `${JSON.stringify(body)}: ${answer.body}`)
        if (code) assert.equal(refusal(answer).code, code)
      }
      const malformed = await t.call('POST', '/admin/v1/accounts', { token: adminToken, payload: '{"id":', headers: { 'content-type': 'application/json' } })
      assert.deepEqual([malformed.statusCode, refusal(malformed).description], [400, 'body: is not valid JSON'])
      const empty = await t.call('POST', '/admin/v1/accounts', { token: adminToken, payload: '', headers: { 'content-type': 'application/json' } })
      assert.equal(empty.statusCode, 400)
      const form = await t.call('POST', '/admin/v1/accounts', { token: adminToken, payload: 'id=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      assert.equal(form.statusCode, 400)
      for (const query of ['limit=abc', 'limit=5000', 'status=gone', 'q=%25', 'page=2']) {
        const answer = await t.call('GET', `/admin/v1/accounts?${query}`, { token: adminToken })
        assert.equal(answer.statusCode, 400, `${query}: ${answer.body}`)
      }
      const badId = await t.call('GET', `/admin/v1/accounts/${'a'.repeat(65)}`, { token: adminToken })
      assert.equal(badId.statusCode, 400)
      assert.match(refusal(badId).description, /^id:/)
    })

    it('pages accounts by prefix and status with next_cursor', async () => {
      for (const n of [1, 2, 3, 4, 5]) await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: `page-${n}`, allowed_ips: [] } })
      const seen: string[] = []
      let cursor: string | null = ''
      let pages = 0
      while (cursor !== null) {
        const answer = await t.call('GET', `/admin/v1/accounts?q=page-&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: viewerToken })
        assert.equal(answer.statusCode, 200)
        const body = json(answer)
        seen.push(...body.accounts.map((account: { id: string }) => account.id))
        cursor = body.next_cursor
        pages++
      }
      assert.deepEqual(seen, ['page-1', 'page-2', 'page-3', 'page-4', 'page-5'])
      assert.equal(pages, 3)
      const suspended = await t.call('GET', '/admin/v1/accounts?status=suspended', { token: viewerToken })
      assert.deepEqual(json(suspended).accounts, [])
    })

    it('PATCH sets allowed IPs, roles and status with If-Match; a stale ETag gets 412 and changes nothing', async () => {
      const created = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'edit', allowed_ips: ['10.0.0.1'] } })
      const etag = created.headers.etag as string
      const patched = await t.call('PATCH', '/admin/v1/accounts/edit', {
        token: adminToken,
        headers: { 'if-match': etag },
        body: { allowed_ips: ['10.0.0.2', '2001:db8::/32'], roles: ['introspect'], status: 'suspended' },
      })
      assert.equal(patched.statusCode, 200, patched.body)
      assert.deepEqual(json(patched).allowed_ips, ['10.0.0.2/32', '2001:db8::/32'])
      assert.deepEqual(json(patched).roles, ['introspect'])
      assert.equal(json(patched).status, 'suspended')
      assert.notEqual(patched.headers.etag, etag)

      const stale = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, headers: { 'if-match': etag }, body: { status: 'active' } })
      assert.deepEqual([stale.statusCode, refusal(stale).code], [412, '3004'])
      assert.equal(json(await t.call('GET', '/admin/v1/accounts/edit', { token: adminToken })).status, 'suspended')
      const missing = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, body: { status: 'active' } })
      assert.equal(missing.statusCode, 428)
      const garbage = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, headers: { 'if-match': 'W/"x"' }, body: { status: 'active' } })
      assert.equal(garbage.statusCode, 412)
      const badIp = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, headers: { 'if-match': patched.headers.etag as string }, body: { allowed_ips: ['10.0.0.0/33'] } })
      assert.deepEqual([badIp.statusCode, refusal(badIp).code], [400, '3003'])
      assert.match(refusal(badIp).description, /^allowed_ips:/)
      const unknown = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, headers: { 'if-match': '*' }, body: { password: 'x' } })
      assert.match(refusal(unknown).description, /^password: is not a field/)
      const resumed = await t.call('PATCH', '/admin/v1/accounts/edit', { token: adminToken, headers: { 'if-match': patched.headers.etag as string }, body: { status: 'active' } })
      assert.equal(json(resumed).status, 'active')
    })

    it('two operators with the same ETag: exactly one change lands, the other gets 412', async () => {
      const created = await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'race', allowed_ips: [] } })
      const etag = created.headers.etag as string
      const answers = await Promise.all(
        ['10.1.0.1', '10.2.0.2'].map((ip) => t.call('PATCH', '/admin/v1/accounts/race', { token: adminToken, headers: { 'if-match': etag }, body: { allowed_ips: [ip] } })),
      )
      assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [200, 412])
      const stored = json(await t.call('GET', '/admin/v1/accounts/race', { token: adminToken }))
      assert.equal(stored.allowed_ips.length, 1)
    })

    it('sets or generates a password and revokes the earlier tokens; revoke-tokens and delete revoke too', async () => {
      const created = json(await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'pw', allowed_ips: ['127.0.0.1'] } }))
      const token = json(await t.token(basic('pw', created.password))).accesstoken as string
      const introspectable = async () => (await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })).statusCode
      const generated = await t.call('POST', '/admin/v1/accounts/pw/password', { token: adminToken })
      assert.equal(generated.statusCode, 200, generated.body)
      const newPassword = json(generated).password as string
      assert.ok(newPassword.length >= 16)
      assert.equal((await t.token(basic('pw', created.password))).statusCode, 400)
      assert.equal(await introspectable(), 400, 'the earlier token is revoked')
      const set = await t.call('POST', '/admin/v1/accounts/pw/password', { token: adminToken, body: { password: 'operator-chosen' } })
      assert.equal(json(set).password, undefined)
      const second = json(await t.token(basic('pw', 'operator-chosen'))).accesstoken as string
      const revoked = await t.call('POST', '/admin/v1/accounts/pw/revoke-tokens', { token: adminToken })
      assert.equal(revoked.statusCode, 200)
      assert.ok(json(revoked).account.tokens_valid_after > 0)
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${second}` } })).statusCode, 400)
      const deleted = await t.call('DELETE', '/admin/v1/accounts/pw', { token: adminToken })
      assert.deepEqual(json(deleted), { deleted: true, id: 'pw' })
      assert.equal((await t.call('GET', '/admin/v1/accounts/pw', { token: adminToken })).statusCode, 404)
      const shortPassword = await t.call('POST', '/admin/v1/accounts/root/password', { token: adminToken, body: { password: '' } })
      assert.match(refusal(shortPassword).description, /^password:/)
    })

    it('keep_previous_for_seconds: both passwords get tokens and earlier tokens stay valid; out of range is 400; without it the old one stops at once', async () => {
      await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'rotating', allowed_ips: ['127.0.0.1'], password: 'old-Password-1' } })
      const earlier = json(await t.token(basic('rotating', 'old-Password-1'))).accesstoken as string
      const requested = Date.now()
      const kept = await t.call('POST', '/admin/v1/accounts/rotating/password', { token: adminToken, body: { password: 'new-Password-2', keep_previous_for_seconds: 3600 } })
      assert.equal(kept.statusCode, 200, kept.body)
      const until = Date.parse(json(kept).previous_password_valid_until)
      assert.ok(until >= requested + 3_599_000 && until <= Date.now() + 3_601_000, json(kept).previous_password_valid_until)
      assert.equal(json(kept).account.tokens_valid_after, 0, 'nothing revoked')
      assert.equal((await t.token(basic('rotating', 'old-Password-1'))).statusCode, 200, 'the previous password still works')
      assert.equal((await t.token(basic('rotating', 'new-Password-2'))).statusCode, 200, 'and the new one')
      assert.equal((await t.services.tokenVerifier.verify(earlier)).active, true, 'a token issued before stays valid')

      for (const keep of [0, -1, 604_801, 1.5, '60', null]) {
        const answer = await t.call('POST', '/admin/v1/accounts/rotating/password', { token: adminToken, body: { keep_previous_for_seconds: keep } })
        assert.equal(answer.statusCode, 400, `${keep}: ${answer.body}`)
        assert.match(refusal(answer).description, /^keep_previous_for_seconds: /, String(keep))
      }
      const week = await t.call('POST', '/admin/v1/accounts/rotating/password', { token: adminToken, body: { password: 'week-Password-3', keep_previous_for_seconds: 604_800 } })
      assert.equal(week.statusCode, 200, 'seven days is the longest overlap')
      assert.equal((await t.token(basic('rotating', 'new-Password-2'))).statusCode, 200)

      const dropped = await t.call('POST', '/admin/v1/accounts/rotating/drop-previous-password', { token: adminToken })
      assert.equal(dropped.statusCode, 200, dropped.body)
      assert.equal((await t.token(basic('rotating', 'new-Password-2'))).statusCode, 400, 'dropped: the previous password stops at once')
      assert.equal((await t.token(basic('rotating', 'week-Password-3'))).statusCode, 200, 'the current one still works')

      const plain = await t.call('POST', '/admin/v1/accounts/rotating/password', { token: adminToken, body: { password: 'last-Password-4' } })
      assert.equal(json(plain).previous_password_valid_until, undefined)
      assert.equal((await t.token(basic('rotating', 'week-Password-3'))).statusCode, 400, 'without it the previous password stops at once')
      assert.equal((await t.token(basic('rotating', 'last-Password-4'))).statusCode, 200)
      // The verdict above is cached until the revocation feed's next poll; a fresh one asks the store.
      t.services.tokenVerifier.clearCache()
      assert.equal((await t.services.tokenVerifier.verify(earlier)).active, false, 'and earlier tokens are revoked')
    })

    it('unlock clears a lockout after wrong passwords, as the CLI does', async () => {
      await t.call('POST', '/admin/v1/accounts', { token: adminToken, body: { id: 'locked-out', allowed_ips: ['127.0.0.1'], password: 'right-Password-1' } })
      for (let attempt = 0; attempt < 10; attempt++) assert.equal(refusal(await t.token(basic('locked-out', 'wrong-Password-1'))).code, '3007')
      assert.equal(refusal(await t.token(basic('locked-out', 'right-Password-1'))).code, '3008', 'locked')
      const unlocked = await t.call('POST', '/admin/v1/accounts/locked-out/unlock', { token: adminToken })
      assert.equal(unlocked.statusCode, 200, unlocked.body)
      assert.equal((await t.token(basic('locked-out', 'right-Password-1'))).statusCode, 200, 'unlocked at once')
    })

    it('lists and rotates keys as the CLI does, and revokes a token by jti or whole', async () => {
      const before = json(await t.call('GET', '/admin/v1/keys', { token: viewerToken }))
      assert.equal(before.keys.filter((key: { state: string }) => key.state === 'current').length, 1)
      const rotated = await t.call('POST', '/admin/v1/keys/rotate', { token: adminToken })
      assert.equal(json(rotated).key.state, 'next')
      assert.ok(json(rotated).key.promotesAt)
      const now = await t.call('POST', '/admin/v1/keys/rotate', { token: adminToken, body: { now: true } })
      assert.equal(json(now).key.state, 'current')
      assert.equal(t.services.keys.current.kid, json(now).key.kid, 'this instance signs with it at once')
      const badRotate = await t.call('POST', '/admin/v1/keys/rotate', { token: adminToken, body: { now: 'yes' } })
      assert.match(refusal(badRotate).description, /^now:/)

      await t.createAccount('holder', 'holder-pw')
      const token = json(await t.token(basic('holder', 'holder-pw'))).accesstoken as string
      const byToken = await t.call('POST', '/admin/v1/tokens/revoke', { token: adminToken, body: { token } })
      assert.equal(byToken.statusCode, 200, byToken.body)
      assert.ok(!byToken.body.includes(token))
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })).statusCode, 200, 'already revoked by jti: idempotent')
      const byJti = await t.call('POST', '/admin/v1/tokens/revoke', { token: adminToken, body: { jti: 'abc123' } })
      assert.equal(json(byJti).jti, 'abc123')
      for (const body of [{}, { jti: 'a', token: 'b' }, { jti: 'not a jti' }, { token: 'x.y' }]) {
        const answer = await t.call('POST', '/admin/v1/tokens/revoke', { token: adminToken, body })
        assert.equal(answer.statusCode, 400, `${JSON.stringify(body)}: ${answer.body}`)
      }
    })

    it('stats: per-minute token counts and refusals by code, the cache, the queue and the key age', async () => {
      await t.createAccount('counted', 'counted-pw')
      const before = json(await t.call('GET', '/admin/v1/stats', { token: viewerToken }))
      const last = (stats: Record<string, any>) => stats.minutes[stats.minutes.length - 1]
      await t.token(basic('counted', 'counted-pw'))
      await t.token(basic('counted', 'wrong'))
      await t.token(basic('counted', 'wrong'))
      const after = json(await t.call('GET', '/admin/v1/stats', { token: viewerToken }))
      assert.equal(after.minutes.length, 60)
      // A minute boundary between the two reads restarts the last bucket: compare the whole hour.
      const total = (stats: Record<string, any>, read: (minute: any) => number) => stats.minutes.reduce((sum: number, minute: any) => sum + read(minute), 0)
      assert.equal(total(after, (m) => m.issued) - total(before, (m) => m.issued), 1)
      assert.equal(total(after, (m) => m.refused['3007'] ?? 0) - total(before, (m) => m.refused['3007'] ?? 0), 2)
      assert.ok(last(after).start)
      assert.ok(after.credential_cache.lookups >= 1)
      assert.equal(after.hash_queue.max_waiting, t.config.hashQueueMax)
      assert.equal(after.current_key.kid, t.services.keys.current.kid)
    })

    it('authorisation: 3005 without a Bearer, 3002 for a bad token, 403 naming the role', async () => {
      for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
        const answer = await t.call('GET', '/admin/v1/accounts', { headers: authorization ? { authorization } : {} })
        assert.deepEqual([answer.statusCode, refusal(answer).code], [400, '3005'], String(authorization))
      }
      for (const token of ['nope', `${adminToken}x`]) {
        const answer = await t.call('GET', '/admin/v1/keys', { token })
        assert.deepEqual([answer.statusCode, refusal(answer).code], [400, '3002'])
      }
      const plain = await t.tokenFor('plain', [])
      const forbidden = await t.call('GET', '/admin/v1/accounts', { token: plain })
      assert.deepEqual([forbidden.statusCode, refusal(forbidden).code], [403, '3005'])
      assert.match(refusal(forbidden).description, /admin or viewer/)
      const writes: Array<[string, string, unknown?]> = [
        ['POST', '/admin/v1/accounts', { id: 'v', allowed_ips: [] }],
        ['PATCH', '/admin/v1/accounts/root', {}],
        ['POST', '/admin/v1/accounts/root/password', {}],
        ['POST', '/admin/v1/accounts/root/revoke-tokens'],
        ['POST', '/admin/v1/accounts/root/unlock'],
        ['POST', '/admin/v1/accounts/root/drop-previous-password'],
        ['DELETE', '/admin/v1/accounts/root'],
        ['POST', '/admin/v1/keys/rotate', {}],
        ['POST', '/admin/v1/tokens/revoke', { jti: 'abc' }],
      ]
      for (const [method, url, body] of writes) {
        const answer = await t.call(method, url, { token: viewerToken, body, headers: { 'if-match': '*' } })
        assert.deepEqual([answer.statusCode, refusal(answer).code], [403, '3005'], `${method} ${url}`)
        assert.match(refusal(answer).description, /"admin"|role admin/)
      }
      // Revoked: the admin's own token stops working.
      const own = await t.tokenFor('own', ['admin'])
      await t.call('POST', '/admin/v1/accounts/own/revoke-tokens', { token: adminToken })
      assert.equal(refusal(await t.call('GET', '/admin/v1/keys', { token: own })).code, '3002')
      // The allow-list applies on every request, not only at sign-in.
      const moved = await t.tokenFor('moved', ['admin'])
      await t.call('PATCH', '/admin/v1/accounts/moved', { token: adminToken, headers: { 'if-match': '*' }, body: { allowed_ips: ['192.0.2.1'] } })
      assert.equal(refusal(await t.call('GET', '/admin/v1/keys', { token: moved })).code, '3010')
    })

    it('the OpenAPI 3.1 document passes swagger-parser and covers the admin API and the public endpoints', async () => {
      const raw = json(await t.admin.inject({ method: 'GET', url: '/admin/v1/openapi.json' }))
      assert.equal(raw.openapi, '3.1.0')
      const paths = Object.keys(t.documented.document.paths).sort()
      for (const path of [
        '/v1/token', '/v1/token/introspect', '/v1/token/revoke', '/v1/token/revocations', '/.well-known/jwks.json', '/health/live', '/health/ready',
        '/admin/v1/accounts', '/admin/v1/accounts/{id}', '/admin/v1/accounts/{id}/password', '/admin/v1/accounts/{id}/revoke-tokens',
        '/admin/v1/accounts/{id}/unlock', '/admin/v1/accounts/{id}/drop-previous-password',
        '/admin/v1/keys', '/admin/v1/keys/rotate', '/admin/v1/tokens/revoke', '/admin/v1/stats', '/admin/v1/audit',
      ]) assert.ok(paths.includes(path), `${path} in ${paths.join(' ')}`)
      assert.ok(!paths.some((path) => path.startsWith('/console')), 'the console is not an API')
      assert.deepEqual(Object.keys(raw.paths['/admin/v1/accounts/{id}']).sort(), ['delete', 'get', 'patch'])
      assert.ok(raw.components.schemas.ContractError && raw.components.schemas.Account)
      // contract.md §6: the rate limit's 429 and its headers are documented where it applies.
      for (const [path, method] of [['/v1/token', 'post'], ['/v1/token/revoke', 'post'], ['/admin/v1/keys', 'get']] as const) {
        const limited = raw.paths[path][method].responses['429']
        assert.ok(limited, `429 on ${method} ${path}`)
        assert.deepEqual(Object.keys(limited.headers).sort(), ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'])
      }
      assert.ok(raw.paths['/v1/token'].post.responses['200'].headers['RateLimit-Remaining'], 'a success tells the window too')
      assert.ok(raw.components.schemas.ContractError.properties.code.enum.includes('5002'))
    })

    it('the admin listener serves /metrics, health and the console; the public one answers 5001 for /metrics', async () => {
      const metrics = await t.admin.inject({ method: 'GET', url: '/metrics' })
      assert.equal(metrics.statusCode, 200)
      assert.match(metrics.body, /bizauth_tokens_issued_total/)
      const onPublic = await t.app.inject({ method: 'GET', url: '/metrics' })
      assert.equal(JSON.parse(onPublic.body).code, '5001')
      assert.equal((await t.call('GET', '/health/live')).statusCode, 200)
      const page = await t.admin.inject({ method: 'GET', url: '/console/' })
      assert.equal(page.statusCode, 200)
      assert.match(String(page.headers['content-security-policy']), /script-src 'self'.*frame-ancestors 'none'/)
      assert.equal(page.headers['x-content-type-options'], 'nosniff')
      assert.equal(page.headers['referrer-policy'], 'no-referrer')
      assert.doesNotMatch(page.body, /<script>|<script(?![^>]*src=)[^>]*>/, 'no inline script')
      const unknown = await t.admin.inject({ method: 'GET', url: '/admin/v1/nothing', headers: { authorization: `Bearer ${adminToken}` } })
      assert.equal(refusal(unknown).code, '5001')
    })
  })
}
