/**
 * Property tests (fast-check) of the admin API's body and query parsers, as fuzz.test.ts tests
 * the token path's: whatever is sent, the answer is a success or `{"code","description"}` with a
 * 4xx status that the OpenAPI document lists for the route (checked by the helper), and a refusal
 * for bad input names a field. Never a 500, never a framework body.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, AuditFilterError, parseAuditLimit, parseAuditQuery, type AuditFilterName } from '../src/store/audit-listing.js'
import { AUDIT_ACTIONS } from '../src/store/store.js'
import { startAdminTestApp, type AdminTestApp } from './helpers/admin.js'

const NUM_RUNS = 150
const FIELDS = ['cursor', 'limit', 'q', 'id', 'allowed_ips', 'roles', 'password', 'keep_previous_for_seconds', 'status', 'now', 'jti', 'token', 'body', 'if-match', 'extra', 'account', 'action', 'since', 'until', 'after']

/** A JSON value shaped like the bodies, with wrong types, unknown keys and odd strings mixed in. */
const bodyLike = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[a-z0-9.-]{1,12}$/), fc.integer(), fc.constant(null)),
      allowed_ips: fc.oneof(fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }), fc.integer())), fc.string(), fc.constant(null)),
      roles: fc.oneof(fc.array(fc.constantFrom('admin', 'viewer', 'introspect', 'root', '')), fc.string()),
      password: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean()),
      keep_previous_for_seconds: fc.oneof(fc.integer({ min: -10, max: 700_000 }), fc.double(), fc.string({ maxLength: 8 }), fc.constant(null)),
      status: fc.oneof(fc.constantFrom('active', 'suspended', 'gone'), fc.integer()),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
)

/** Raw payloads: JSON texts and broken ones. */
const payload = fc.oneof(bodyLike.map((value) => JSON.stringify(value) ?? 'null'), fc.string({ maxLength: 60 }))

describe('the admin API parsers, property-tested', () => {
  let t: AdminTestApp
  let token: string
  before(async () => {
    t = await startAdminTestApp('sqlite')
    token = await t.tokenFor('root', ['admin'])
    await t.call('POST', '/admin/v1/accounts', { token, body: { id: 'target', allowed_ips: [] } })
  })
  after(() => t.close())

  function assertAnswer(answer: { statusCode: number; body: string }, success: number[]): void {
    if (success.includes(answer.statusCode)) return
    assert.ok(answer.statusCode >= 400 && answer.statusCode < 500, `status ${answer.statusCode}: ${answer.body}`)
    const body = JSON.parse(answer.body) as Record<string, unknown>
    assert.deepEqual(Object.keys(body).sort(), ['code', 'description'])
    if (answer.statusCode === 400) {
      const description = String(body.description)
      const named = FIELDS.some((field) => description.startsWith(`${field}: `)) || /^"(?:[^"\\]|\\.)*": is not a field/.test(description) || /^[\w.-]+: is not a field/.test(description)
      assert.ok(named, `a 400 names the field: ${answer.body}`)
    }
  }

  it('POST /admin/v1/accounts', async () => {
    await fc.assert(
      fc.asyncProperty(payload, async (text) => {
        const answer = await t.call('POST', '/admin/v1/accounts', { token, payload: text, headers: { 'content-type': 'application/json' } })
        assertAnswer(answer, [201])
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('PATCH /admin/v1/accounts/{id}, POST …/password, keys/rotate and tokens/revoke', async () => {
    const routes: Array<[string, string]> = [
      ['PATCH', '/admin/v1/accounts/target'],
      ['POST', '/admin/v1/accounts/target/password'],
      ['POST', '/admin/v1/keys/rotate'],
      ['POST', '/admin/v1/tokens/revoke'],
    ]
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), payload, async ([method, url], text) => {
        const answer = await t.call(method, url, { token, payload: text, headers: { 'content-type': 'application/json', 'if-match': '*' } })
        assertAnswer(answer, [200])
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('GET /admin/v1/accounts query strings', async () => {
    const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constantFrom('active', 'suspended', '0', '201', ''))
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('cursor', 'limit', 'q', 'status', 'other'), value), async (query) => {
        const search = new URLSearchParams(query).toString()
        const answer = await t.call('GET', `/admin/v1/accounts?${search}`, { token })
        assertAnswer(answer, [200])
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('GET /admin/v1/audit query strings: a page or 400 naming the filter, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...AUDIT_QUERY_PARAMETERS, 'other'), auditFilterText), async (query) => {
        const answer = await t.call('GET', `/admin/v1/audit?${new URLSearchParams(query).toString()}`, { token })
        if (answer.statusCode === 200) return
        assert.equal(answer.statusCode, 400, answer.body)
        const body = JSON.parse(answer.body) as Record<string, unknown>
        assert.deepEqual(Object.keys(body).sort(), ['code', 'description'])
        assert.ok([...AUDIT_QUERY_PARAMETERS, 'other'].some((field) => String(body.description).startsWith(`${field}: `)), answer.body)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

const AUDIT_FILTERS: readonly AuditFilterName[] = ['account', 'action', 'since', 'until', 'after', 'limit']
/** The API's names: it pages with `cursor`, where the CLI says `--after`. */
const AUDIT_QUERY_PARAMETERS: readonly AuditFilterName[] = ['account', 'action', 'since', 'until', 'cursor', 'limit']

/** Filter texts: valid ones, near misses and noise. */
const auditFilterText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(...AUDIT_ACTIONS, '0', '1', '1000', '1001', '-1', '1e3', '2026-02-30', '2026-01-01', '2026-01-01T25:00:00Z', ''),
  fc.integer({ min: -5, max: 2000 }).map(String),
  fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }).map((date) => date.toISOString()),
)

describe('the audit query parser, property-tested', () => {
  it('any filters: a query within bounds, or an AuditFilterError naming one of the given filters', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...AUDIT_FILTERS), auditFilterText), (filters) => {
        let query: ReturnType<typeof parseAuditQuery>
        try {
          query = parseAuditQuery(filters)
        } catch (error) {
          assert.ok(error instanceof AuditFilterError, String(error))
          assert.ok(Object.keys(filters).includes(error.field), `${error.field} was given`)
          return
        }
        if (query.limit !== undefined) assert.ok(Number.isInteger(query.limit) && query.limit >= 1 && query.limit <= AUDIT_PAGE_MAX)
        if (query.after !== undefined) assert.ok(Number.isSafeInteger(query.after) && query.after >= 0)
        for (const time of [query.since, query.until]) if (time !== undefined) assert.ok(!Number.isNaN(time.getTime()))
        if (query.action !== undefined) assert.ok(AUDIT_ACTIONS.includes(query.action))
        assert.equal(query.account, filters.account)
      }),
      { numRuns: 2000 },
    )
  })

  it('valid filters read back as written', () => {
    const instant = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true })
    fc.assert(
      fc.property(instant, instant, fc.integer({ min: 1, max: AUDIT_PAGE_MAX }), fc.nat(), fc.constantFrom(...AUDIT_ACTIONS), (since, until, limit, after, action) => {
        const query = parseAuditQuery({ since: since.toISOString(), until: until.toISOString(), limit: String(limit), after: String(after), action })
        assert.deepEqual(query, { since, until, limit, after, action })
      }),
      { numRuns: 1000 },
    )
    assert.equal(parseAuditLimit(undefined), AUDIT_PAGE_DEFAULT)
  })

  it('a time without an offset is KST, on every day of the year (January 1st too)', () => {
    const instant = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T00:00:00Z'), noInvalidDate: true })
    fc.assert(
      fc.property(instant, (date) => {
        const kst = new Date(date.getTime() + 9 * 3_600_000).toISOString().slice(0, 23)
        assert.equal(parseAuditQuery({ since: kst }).since!.getTime(), date.getTime(), kst)
        assert.equal(parseAuditQuery({ until: kst.slice(0, 10) }).until!.getTime(), Date.parse(`${kst.slice(0, 10)}T00:00:00+09:00`))
      }),
      // 2026-01-01 00:00 KST is still 2025 in UTC: the case a year check got wrong.
      { numRuns: 1000, examples: [[new Date('2025-12-31T15:00:00Z')]] },
    )
  })
})
