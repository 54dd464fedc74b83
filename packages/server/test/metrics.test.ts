/**
 * The counters of /metrics read exactly what happened: counted, never timed.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildAdminApp } from '../src/http/admin/app.js'
import { basic, startTestApp } from './helpers/app.js'

/** /metrics is served by the admin listener only (issue 10 §1). */
async function metricValue(admin: FastifyInstance, name: string, labels = ''): Promise<number> {
  const response = await admin.inject({ method: 'GET', url: '/metrics' })
  assert.equal(response.statusCode, 200)
  const line = response.body.split('\n').find((text) => text.startsWith(`${name}${labels} `))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('token metrics', () => {
  it('counts every refused token request by code, every issued token, and every argon2id job', async (context) => {
    const t = await startTestApp({ credentialCacheTtlSeconds: 0, ipFailureLimit: 0 })
    const admin = await buildAdminApp(t.services)
    context.after(async () => {
      await admin.close()
      await t.close()
    })
    await t.createAccount('acme', 'right')
    const checksBefore = await metricValue(admin, 'bizauth_hash_checks_total')
    assert.equal(checksBefore, t.services.hashQueue.started)

    for (let i = 0; i < 3; i++) assert.equal((await t.token(basic('acme', `wrong${i}`))).statusCode, 400)
    for (let i = 0; i < 2; i++) assert.equal((await t.token(basic('ghost', 'pw'))).statusCode, 400)
    assert.equal((await t.token('Bearer nope')).statusCode, 400)
    for (let i = 0; i < 4; i++) assert.equal((await t.token(basic('acme', 'right'))).statusCode, 200)

    assert.equal(await metricValue(admin, 'bizauth_token_failures_total', '{code="3007"}'), 3)
    assert.equal(await metricValue(admin, 'bizauth_token_failures_total', '{code="3006"}'), 2)
    assert.equal(await metricValue(admin, 'bizauth_token_failures_total', '{code="3001"}'), 1)
    assert.equal(await metricValue(admin, 'bizauth_tokens_issued_total'), 4)
    // 3 wrong + 2 dummy + 4 right, the cache being off: one argon2id job each.
    assert.equal((await metricValue(admin, 'bizauth_hash_checks_total')) - checksBefore, 9)
    const type = (await admin.inject({ method: 'GET', url: '/metrics' })).body
    assert.equal(JSON.parse((await t.app.inject({ method: 'GET', url: '/metrics' })).body).code, '5001', 'not on the public listener')
    assert.match(type, /^# TYPE bizauth_hash_checks_total counter$/m)
  })
})
