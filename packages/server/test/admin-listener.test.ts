/**
 * The second listener of a real `bizauth serve` (issue 10 §1): the admin API, /metrics and the
 * health endpoints on --admin-port; /metrics gone from the public port; --admin-port off.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { serve } from './helpers/server-process.js'
import { useTempDir } from './helpers/tmp.js'

describe('bizauth serve: the admin listener', () => {
  it('serves /metrics, health, the document and the console on --admin-port; the public port answers 5001 for /metrics', async (t) => {
    const dataDir = await useTempDir(t)
    const server = await serve(['--data-dir', dataDir, '--port', '0', '--admin-port', '0'])
    t.after(() => server.kill())
    const adminUrl = server.adminUrl()
    assert.ok(adminUrl, server.output())
    assert.notEqual(adminUrl, server.url)
    const metrics = await fetch(`${adminUrl}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(await metrics.text(), /^# TYPE bizauth_tokens_issued_total counter$/m)
    assert.equal((await fetch(`${adminUrl}/health/ready`)).status, 200)
    assert.equal((await fetch(`${adminUrl}/admin/v1/openapi.json`)).status, 200)
    assert.equal((await fetch(`${adminUrl}/console/`)).status, 200)
    const onPublic = await fetch(`${server.url}/metrics`)
    assert.equal(onPublic.status, 400)
    assert.equal(((await onPublic.json()) as { code: string }).code, '5001')
    const refused = await fetch(`${adminUrl}/admin/v1/accounts`)
    assert.equal(((await refused.json()) as { code: string }).code, '3005')
  })

  it('--admin-port off: no admin listener', async (t) => {
    const dataDir = await useTempDir(t)
    const server = await serve(['--data-dir', dataDir, '--port', '0', '--admin-port', 'off'])
    t.after(() => server.kill())
    assert.equal(server.adminUrl(), undefined)
    assert.doesNotMatch(server.output(), /admin listening/)
  })
})
