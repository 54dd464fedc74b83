/**
 * /admin/v1/accounts: every route parses, calls AccountAdministration, and renders. No account
 * rule lives here; PATCH only turns "the state I want" into the service's operations, each a
 * compare-and-set on the version the previous one left (If-Match names the first).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AccountAdministration, canonicalAllowedIp, validRole, type AccountChange, type AccountView } from '../../accounts/administration.js'
import { StaleAccountVersionError, VersionRequiredError } from '../../errors.js'
import type { Services } from '../../services.js'
import type { AccountRole, AccountStatus } from '../../store/store.js'
import { sendJson } from '../render-error.js'
import { auditFor, type AdminRoutes } from './routes.js'
import {
  ACCOUNT_CHANGED,
  ACCOUNT_ERRORS,
  CREATE_ERRORS,
  PATCH_ERRORS,
  ACCOUNT_DELETED,
  ACCOUNT_ID_PARAMS,
  ACCOUNT_LIST_QUERY,
  ACCOUNT_PAGE,
  ACCOUNT_WITH_PASSWORD,
  CREATE_ACCOUNT_BODY,
  IF_MATCH_HEADERS,
  SET_PASSWORD_BODY,
  UPDATE_ACCOUNT_BODY,
} from './schemas.js'

const DEFAULT_PAGE = 50
const MAX_PAGE = 200

export function accountJson(view: AccountView): Record<string, unknown> {
  return {
    id: view.id,
    status: view.status,
    allowed_ips: view.allowedIps,
    roles: view.roles,
    created_at: view.createdAt.toISOString(),
    updated_at: view.updatedAt.toISOString(),
    tokens_valid_after: view.tokensValidAfter,
  }
}

/** The account's version, quoted (RFC 9110 §8.8.3): it says nothing but "which change". */
export const etagOf = (view: AccountView): string => `"v${view.version}"`

/** The version an If-Match names; undefined for `*`. A tag that is not one of ours matches nothing. */
function expectedVersionOf(ifMatch: string, accountId: string): number | undefined {
  const tag = ifMatch.trim()
  if (tag === '*') return undefined
  const match = /^"v(\d{1,15})"$/.exec(tag)
  if (!match) throw StaleAccountVersionError(accountId)
  return Number(match[1])
}

const cursorOf = (id: string): string => Buffer.from(id, 'utf8').toString('base64url')
const afterOf = (cursor: string | undefined): string | undefined => (cursor === undefined || cursor === '' ? undefined : Buffer.from(cursor, 'base64url').toString('utf8'))

function sendAccount(reply: FastifyReply, view: AccountView, body: Record<string, unknown>, status = 200): FastifyReply {
  return sendJson(reply.header('etag', etagOf(view)), JSON.stringify(body), { status })
}

const withinPage = (limit: string | undefined): number => Math.min(MAX_PAGE, Math.max(1, limit === undefined ? DEFAULT_PAGE : Number(limit)))

interface PatchBody {
  allowed_ips?: string[]
  roles?: string[]
  status?: AccountStatus
}

/** The service's operations that take `current` to what `body` asks, in a safe order: a suspension first, a resumption last. */
function operationsFor(admin: AccountAdministration, current: AccountView, body: PatchBody) {
  type Step = (expectedVersion: number | undefined) => Promise<AccountChange>
  const steps: Step[] = []
  const id = current.id
  if (body.status === 'suspended' && current.status !== 'suspended') steps.push((v) => admin.suspend(id, { expectedVersion: v }))
  if (body.allowed_ips !== undefined) {
    const wanted = [...new Set(body.allowed_ips.map(canonicalAllowedIp))]
    for (const cidr of wanted.filter((ip) => !current.allowedIps.includes(ip))) steps.push((v) => admin.allowIp(id, cidr, { expectedVersion: v }))
    for (const cidr of current.allowedIps.filter((ip) => !wanted.includes(ip))) steps.push((v) => admin.denyIp(id, cidr, { expectedVersion: v }))
  }
  if (body.roles !== undefined) {
    const wanted: AccountRole[] = [...new Set(body.roles.map(validRole))]
    for (const role of wanted.filter((r) => !current.roles.includes(r))) steps.push((v) => admin.grantRole(id, role, { expectedVersion: v }))
    for (const role of current.roles.filter((r) => !wanted.includes(r))) steps.push((v) => admin.revokeRole(id, role, { expectedVersion: v }))
  }
  if (body.status === 'active' && current.status !== 'active') steps.push((v) => admin.resume(id, { expectedVersion: v }))
  return steps
}

export function registerAccountRoutes(app: FastifyInstance, services: Services, { read, write, tags }: AdminRoutes): void {
  const { config } = services
  const passwordPolicy = { minLength: config.passwordMinLength, minClasses: config.passwordMinClasses }
  /** The service acting for this request's admin account: the audit trail's actor and source. */
  const adminFor = (request: FastifyRequest): AccountAdministration =>
    new AccountAdministration({ store: services.store, hasher: services.hasher, passwordPolicy, audit: auditFor(services, request) })
  const schemaTags = tags('accounts')

  app.get<{ Querystring: { cursor?: string; limit?: string; q?: string; status?: AccountStatus } }>(
    '/admin/v1/accounts',
    { schema: { ...schemaTags, summary: 'A page of accounts in id order', querystring: ACCOUNT_LIST_QUERY, response: { 200: ACCOUNT_PAGE } }, preHandler: read },
    async (request, reply) => {
      const { cursor, limit, q, status } = request.query
      const size = withinPage(limit)
      const views = await adminFor(request).list({ after: afterOf(cursor), limit: size + 1, idPrefix: q || undefined, status })
      const page = views.slice(0, size)
      const next = views.length > size ? cursorOf(page[page.length - 1]!.id) : null
      return sendJson(reply, JSON.stringify({ accounts: page.map(accountJson), next_cursor: next }))
    },
  )

  app.post<{ Body: { id: string; allowed_ips: string[]; roles?: string[]; password?: string } }>(
    '/admin/v1/accounts',
    {
      schema: { ...schemaTags, summary: 'Create an account (a password is generated when none is given)', body: CREATE_ACCOUNT_BODY, response: { 201: ACCOUNT_WITH_PASSWORD, ...CREATE_ERRORS } },
      preHandler: write,
    },
    async (request, reply) => {
      const { id, allowed_ips: allowedIps, roles, password } = request.body
      const created = await adminFor(request).create({ id, allowedIps, roles, password })
      const body: Record<string, unknown> = { account: accountJson(created.after!) }
      if (created.generatedPassword !== undefined) body.password = created.generatedPassword
      reply.header('location', `/admin/v1/accounts/${encodeURIComponent(id)}`)
      return sendAccount(reply, created.after!, body, 201)
    },
  )

  app.get<{ Params: { id: string } }>(
    '/admin/v1/accounts/:id',
    { schema: { ...schemaTags, summary: 'One account, with its ETag', params: ACCOUNT_ID_PARAMS, response: { 200: { $ref: 'Account#' }, ...ACCOUNT_ERRORS } }, preHandler: read },
    async (request, reply) => {
      const view = await adminFor(request).show(request.params.id)
      return sendAccount(reply, view, accountJson(view))
    },
  )

  app.patch<{ Params: { id: string }; Body: PatchBody; Headers: { 'if-match'?: string } }>(
    '/admin/v1/accounts/:id',
    {
      schema: {
        ...schemaTags,
        summary: 'Set allowed IPs, roles or status; If-Match must name the current ETag (412 otherwise)',
        params: ACCOUNT_ID_PARAMS,
        headers: IF_MATCH_HEADERS,
        body: UPDATE_ACCOUNT_BODY,
        response: { 200: { $ref: 'Account#' }, ...PATCH_ERRORS },
      },
      preHandler: write,
    },
    async (request, reply) => {
      const { id } = request.params
      const ifMatch = request.headers['if-match']
      if (ifMatch === undefined) throw VersionRequiredError()
      let expectedVersion = expectedVersionOf(ifMatch, id)
      const current = await adminFor(request).show(id)
      if (expectedVersion !== undefined && current.version !== expectedVersion) throw StaleAccountVersionError(id)
      let latest = current
      for (const step of operationsFor(adminFor(request), current, request.body)) {
        latest = (await step(expectedVersion)).after!
        expectedVersion = latest.version
      }
      return sendAccount(reply, latest, accountJson(latest))
    },
  )

  app.post<{ Params: { id: string }; Body: { password?: string; keep_previous_for_seconds?: number } }>(
    '/admin/v1/accounts/:id/password',
    {
      schema: {
        ...schemaTags,
        summary: 'Set or generate a password; earlier tokens are revoked, unless keep_previous_for_seconds keeps the previous password working for a while',
        params: ACCOUNT_ID_PARAMS,
        body: SET_PASSWORD_BODY,
        response: { 200: ACCOUNT_WITH_PASSWORD, ...ACCOUNT_ERRORS },
      },
      preHandler: write,
      config: { optionalBody: true },
    },
    async (request, reply) => {
      const { password, keep_previous_for_seconds: keepPreviousForSeconds } = request.body
      const changed = await adminFor(request).setPassword(request.params.id, password, keepPreviousForSeconds === undefined ? {} : { keepPreviousForSeconds })
      const body: Record<string, unknown> = { account: accountJson(changed.after!) }
      if (changed.generatedPassword !== undefined) body.password = changed.generatedPassword
      const keptUntil = changed.after!.previousPasswordValidUntil
      if (keepPreviousForSeconds !== undefined && keptUntil !== undefined) body.previous_password_valid_until = keptUntil.toISOString()
      return sendAccount(reply, changed.after!, body)
    },
  )

  // Changes that take nothing but the account: each the administration service's call of the
  // CLI command of the same name (unlock and drop-previous-password are the operator's answers
  // to a locked-out customer and to a rotation that is over early).
  const bodilessChanges: ReadonlyArray<{ action: string; summary: string; change: (admin: AccountAdministration, id: string) => Promise<AccountChange> }> = [
    { action: 'revoke-tokens', summary: 'Revoke every token issued so far', change: (admin, id) => admin.revokeTokens(id) },
    { action: 'unlock', summary: 'Clear the lockout after wrong passwords, on every instance', change: (admin, id) => admin.unlock(id) },
    { action: 'drop-previous-password', summary: 'End a password rotation early: the previous password stops working at once', change: (admin, id) => admin.dropPreviousPassword(id) },
  ]
  for (const { action, summary, change } of bodilessChanges) {
    app.post<{ Params: { id: string } }>(
      `/admin/v1/accounts/:id/${action}`,
      { schema: { ...schemaTags, summary, params: ACCOUNT_ID_PARAMS, response: { 200: ACCOUNT_CHANGED, ...ACCOUNT_ERRORS } }, preHandler: write },
      async (request, reply) => {
        const changed = await change(adminFor(request), request.params.id)
        return sendAccount(reply, changed.after!, { account: accountJson(changed.after!) })
      },
    )
  }

  app.delete<{ Params: { id: string } }>(
    '/admin/v1/accounts/:id',
    { schema: { ...schemaTags, summary: 'Delete the account, revoking its tokens first', params: ACCOUNT_ID_PARAMS, response: { 200: ACCOUNT_DELETED, ...ACCOUNT_ERRORS } }, preHandler: write },
    async (request, reply) => {
      const deleted = await adminFor(request).delete(request.params.id)
      return sendJson(reply, JSON.stringify({ deleted: true, id: deleted.accountId }))
    },
  )
}
