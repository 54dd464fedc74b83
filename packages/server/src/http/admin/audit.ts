/**
 * GET /admin/v1/audit: `bizauth audit list --json`, over HTTP. The filters' grammar and the
 * event's published form are those of the CLI (store/audit-listing.ts); a filter that does not
 * parse is an AuditFilterError, which the admin app answers 400 naming it.
 */
import type { FastifyInstance } from 'fastify'
import { parseAuditCursor, parseAuditLimit, parseAuditQuery, publishedAuditEvent, type AuditFilterText } from '../../store/audit-listing.js'
import type { Services } from '../../services.js'
import { sendJson } from '../render-error.js'
import type { AdminRoutes } from './routes.js'
import { AUDIT_LIST_QUERY, AUDIT_PAGE } from './schemas.js'

export function registerAuditRoute(app: FastifyInstance, services: Services, { read, tags }: AdminRoutes): void {
  const { store } = services
  app.get<{ Querystring: AuditPageQuery }>(
    '/admin/v1/audit',
    {
      schema: { ...tags('audit'), summary: 'A page of audit events, oldest first, by account, action and time', querystring: AUDIT_LIST_QUERY, response: { 200: AUDIT_PAGE } },
      preHandler: read,
    },
    async (request, reply) => {
      // The API pages with `cursor`/`next_cursor`, where the CLI says `--after`.
      const { cursor, limit, ...filters } = request.query
      const query = { ...parseAuditQuery(filters), ...(cursor !== undefined ? { after: parseAuditCursor(cursor, 'cursor') } : {}), limit: parseAuditLimit(limit) }
      const page = await store.listAuditEvents(query)
      const nextCursor = page.next === undefined ? null : String(page.next)
      return sendJson(reply, JSON.stringify({ events: page.events.map(publishedAuditEvent), next_cursor: nextCursor }))
    },
  )
}

/** The query parameters: the CLI's filters, paged with `cursor` instead of `after`. */
type AuditPageQuery = Omit<AuditFilterText, 'after'> & { cursor?: string }
