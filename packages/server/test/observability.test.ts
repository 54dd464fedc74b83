/**
 * What an on-call engineer reads (issue 11 §2, §3): one access line per request with the
 * fields of §2 and no secret, request ids, and every metric of §3 counted exactly, the whole
 * /metrics page passing a strict Prometheus text-format parse.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { pino } from 'pino'
import { AccountAdministration } from '../src/accounts/administration.js'
import { buildAdminApp } from '../src/http/admin/app.js'
import { answerCode, basic, startTestApp, type TestApp } from './helpers/app.js'
import { parsePrometheusText, sampleValue, type Family } from './helpers/prometheus.js'

interface AccessLine {
  msg: string
  time: number
  reqId: string
  method: string
  path: string
  status: number
  code: string
  account?: string
  ip?: string
  ms: number
  cacheHit?: boolean
  jti?: string
}

function collectingLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (chunk: string) => void lines.push(chunk) })
  return { logger, lines }
}

function accessLines(lines: string[]): AccessLine[] {
  return lines.map((line) => JSON.parse(line) as AccessLine).filter((line) => line.msg === 'access')
}

/** /metrics is served by the admin listener only (issue 10 §1): an admin app over the same services. */
async function scrape(t: TestApp): Promise<Map<string, Family>> {
  const admin = await buildAdminApp(t.services)
  const response = await admin.inject({ method: 'GET', url: '/metrics' }).finally(() => admin.close())
  assert.equal(response.statusCode, 200)
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/)
  return parsePrometheusText(response.body)
}

describe('the access log', () => {
  it('writes one line per request with the fields of §2, and never a password, header or token', async (context) => {
    const { logger, lines } = collectingLogger()
    const t = await startTestApp({ credentialCacheTtlSeconds: 60 }, { logger })
    context.after(() => t.close())
    await t.createAccount('acme', 'the-Password-1')
    const issued = await t.token(basic('acme', 'the-Password-1'), { headers: { 'x-request-id': 'req-from-caller-1' } })
    assert.equal(issued.statusCode, 200)
    assert.equal(issued.headers['x-request-id'], 'req-from-caller-1', 'an acceptable id is honoured and returned')
    const token = (JSON.parse(issued.body) as { accesstoken: string }).accesstoken
    const cachedAnswer = await t.token(basic('acme', 'the-Password-1'), { headers: { 'x-request-id': 'has space' } })
    assert.match(String(cachedAnswer.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'an unacceptable id is replaced')
    const wrong = await t.token(basic('acme', 'wrong-Password-2'), { headers: { 'x-request-id': 'x'.repeat(129) } })
    assert.equal(answerCode(wrong), '3007')
    assert.notEqual(wrong.headers['x-request-id'], 'x'.repeat(129))
    const revoked = await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })
    assert.equal(revoked.statusCode, 200)
    const missing = await t.app.inject({ method: 'GET', url: '/nowhere?password=query-Secret-3' })
    assert.ok(missing.statusCode >= 400, 'no such resource')

    const access = accessLines(lines)
    assert.equal(access.length, 5, 'one line per request')
    const [first, second, third, fourth, fifth] = access as [AccessLine, AccessLine, AccessLine, AccessLine, AccessLine]
    assert.equal(first.reqId, 'req-from-caller-1')
    assert.equal(second.reqId, cachedAnswer.headers['x-request-id'])
    const jti = String(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')).jti)
    assert.deepEqual(
      { method: first.method, path: first.path, status: first.status, code: first.code, account: first.account, ip: first.ip, cacheHit: first.cacheHit, jti: first.jti },
      { method: 'POST', path: '/v1/token', status: 200, code: 'ok', account: 'acme', ip: '127.0.0.1', cacheHit: false, jti },
    )
    assert.equal(second.cacheHit, true, 'the second right password: the credential cache')
    assert.deepEqual([third.status, third.code, third.account, third.jti], [400, '3007', 'acme', undefined])
    assert.deepEqual([fourth.path, fourth.code], ['/v1/token/revoke', 'ok'])
    assert.deepEqual([fifth.path, fifth.status, fifth.code], ['/nowhere', missing.statusCode, answerCode(missing)])
    for (const line of access) {
      assert.equal(typeof line.time, 'number')
      assert.ok(line.ms >= 0)
    }
    const text = lines.join('')
    for (const secret of ['the-Password-1', 'wrong-Password-2', 'query-Secret-3', token, token.split('.')[2]!, basic('acme', 'the-Password-1').slice(6)]) {
      assert.ok(!text.includes(secret), 'no password, Authorization header, query or token in any log line')
    }
  })
})

describe('--access-log off', () => {
  it('writes no access line, and the request metrics still count', async (context) => {
    const { logger, lines } = collectingLogger()
    const t = await startTestApp({ accessLog: 'off' }, { logger })
    context.after(() => t.close())
    await t.createAccount('acme', 'pw')
    for (let i = 0; i < 3; i++) assert.equal((await t.token(basic('acme', 'pw'))).statusCode, 200)
    assert.equal(accessLines(lines).length, 0)
    assert.equal(sampleValue(await scrape(t), 'bizauth_token_requests_total', { code: 'ok' }), 3)
  })
})

describe('metrics', () => {
  it('counts every §3 metric exactly, and /metrics parses as Prometheus text', async () => {
    const t = await startTestApp({ credentialCacheTtlSeconds: 60, lockoutThreshold: 3, ipFailureLimit: 5, ipFailureWindowSeconds: 600 })
    try {
      const N = 3
      for (let i = 0; i < N; i++) await t.createAccount(`user-${i}`, 'pw', { allowIps: ['0.0.0.0/0'] })
      await t.createAccount('rs', 'rs-pw', { roles: ['introspect'] })
      const before = await scrape(t)
      assert.equal(sampleValue(before, 'bizauth_token_requests_total', { code: 'ok' }), 0, 'exported before the first request')
      const checksBefore = sampleValue(before, 'bizauth_hash_checks_total')!

      for (let i = 0; i < N; i++) assert.equal((await t.token(basic(`user-${i}`, 'pw'))).statusCode, 200) // hash checks
      for (let i = 0; i < N; i++) assert.equal((await t.token(basic('user-0', 'pw'))).statusCode, 200) // cache hits
      for (let i = 0; i < N; i++) assert.equal(answerCode(await t.token(basic('user-1', `wrong-${i}`), { remoteAddress: '192.0.2.1' })), '3007') // the 3rd locks
      for (let i = 0; i < 5; i++) assert.equal(answerCode(await t.token(basic(`ghost-${i}`, 'x'), { remoteAddress: '198.51.100.9' })), '3006') // the 5th blocks
      const token = (JSON.parse((await t.token(basic('user-2', 'pw'))).body) as { accesstoken: string }).accesstoken // a 4th cache hit
      const introspect = (authorization: string) =>
        t.app.inject({ method: 'POST', url: '/v1/token/introspect', headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${token}` })
      assert.equal((await introspect(basic('rs', 'rs-pw'))).statusCode, 200)
      assert.equal((await introspect(basic('rs', 'rs-pw'))).statusCode, 200)
      assert.equal(answerCode(await introspect(basic('rs', 'nope'))), '3005')
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/token/revoke', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
      await new AccountAdministration({ store: t.store, hasher: t.services.hasher, audit: t.services.auditWriter({ type: 'cli', id: 'test' }) }).revokeTokens('user-0')
      await t.services.revocationFollower.catchUp()

      const after = await scrape(t)
      const value = (name: string, labels: Record<string, string> = {}) => sampleValue(after, name, labels)
      assert.equal(value('bizauth_token_requests_total', { code: 'ok' }), 2 * N + 1)
      assert.equal(value('bizauth_token_requests_total', { code: '3007' }), N)
      assert.equal(value('bizauth_token_requests_total', { code: '3006' }), 5)
      assert.equal(value('bizauth_token_request_duration_seconds_count', { outcome: 'hash_check' }), N)
      assert.equal(value('bizauth_token_request_duration_seconds_count', { outcome: 'cache_hit' }), N + 1)
      assert.equal(value('bizauth_token_request_duration_seconds_count', { outcome: 'refused' }), N + 5)
      assert.equal(value('bizauth_token_request_duration_seconds_bucket', { outcome: 'refused', le: '+Inf' }), N + 5)
      assert.equal(value('bizauth_introspection_requests_total', { code: 'ok' }), 2)
      assert.equal(value('bizauth_introspection_requests_total', { code: '3005' }), 1)
      assert.equal(value('bizauth_introspection_request_duration_seconds_count', { outcome: 'hash_check' }), 1)
      assert.equal(value('bizauth_introspection_request_duration_seconds_count', { outcome: 'cache_hit' }), 1)
      assert.equal(value('bizauth_introspection_request_duration_seconds_count', { outcome: 'refused' }), 1)
      // N first checks, N wrong, 5 dummy checks for unknown ids, 1 introspection caller, 1 wrong caller.
      const checks = N + N + 5 + 1 + 1
      assert.equal(value('bizauth_hash_checks_total')! - checksBefore, checks)
      assert.equal(value('bizauth_hash_checks_total'), t.services.hashQueue.started)
      assert.equal(value('bizauth_hash_queue_wait_seconds_count'), t.services.hashQueue.started)
      assert.equal(value('bizauth_lockouts_total'), 1)
      assert.equal(value('bizauth_ip_blocks_total'), 1)
      assert.equal(value('bizauth_revocations_total', { kind: 'jti' }), 1)
      assert.equal(value('bizauth_revocations_total', { kind: 'account' }), 1)
      assert.equal(value('bizauth_store_query_duration_seconds_count', { operation: 'appendAuditEvent' }), 2, 'the lockout and the block, each once')
      assert.ok(value('bizauth_store_query_duration_seconds_count', { operation: 'getAccount' })! > 0)
      const age = value('bizauth_signing_key_age_seconds')!
      assert.ok(age >= 0 && age < 3600, 'the key made at start is young')
      for (const name of ['bizauth_token_request_duration_seconds', 'bizauth_hash_queue_wait_seconds', 'bizauth_store_query_duration_seconds', 'bizauth_introspection_request_duration_seconds']) {
        assert.equal(after.get(name)?.type, 'histogram', name)
      }
    } finally {
      await t.close()
    }
  })
})

describe('what the operator looks at', () => {
  const REPOSITORY = new URL('../../../../', import.meta.url)

  /** Metric names in PromQL, a histogram's _bucket/_sum/_count read as its family. */
  function queriedFamilies(expressions: string[], exported: Map<string, Family>): Set<string> {
    const names = new Set<string>()
    for (const expression of expressions) {
      for (const [name] of expression.matchAll(/\bbizauth_[a-z0-9_]+/g)) {
        const family = name.replace(/_(bucket|sum|count)$/, '')
        names.add(exported.get(family)?.type === 'histogram' ? family : name)
      }
    }
    return names
  }

  it('the Grafana dashboard and the alerts of docs/operations.md query only metrics the server exports', async (context) => {
    const t = await startTestApp()
    context.after(() => t.close())
    const exported = await scrape(t)
    const dashboard = JSON.parse(await readFile(new URL('docs/grafana-dashboard.json', REPOSITORY), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> }
    const dashboardExpressions = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))
    assert.ok(dashboardExpressions.length >= 10)
    const operations = await readFile(new URL('docs/operations.md', REPOSITORY), 'utf8')
    const alerts = /```yaml\n([\s\S]*?)```/.exec(operations)?.[1] ?? ''
    const alertExpressions = [...alerts.matchAll(/expr: (\|\n(?:\s{10}.*\n)+|.*)/g)].map((match) => match[1]!)
    assert.equal(alertExpressions.length, 4, 'four alerts')
    for (const [where, expressions] of [['dashboard', dashboardExpressions], ['alerts', alertExpressions]] as const) {
      const queried = queriedFamilies([...expressions], exported)
      assert.ok(queried.size > 0)
      for (const name of queried) assert.ok(exported.has(name), `${where} queries ${name}, which /metrics does not export`)
    }
    for (const section of ['## English', '## 한국어']) assert.ok(operations.includes(section), section)
  })
})
