/**
 * GET /admin/v1/audit: `bizauth audit list --json`, over HTTP. The filters' grammar and the
 * event's published form are those of the CLI (store/audit-listing.ts); a filter that does not
 * parse is an AuditFilterError, which the admin app answers 400 naming it.
 */
import type { FastifyInstance } from 'fastify'
import { AuditFilterError, parseAuditLimit, parseAuditQuery, publishedAuditEvent, type AuditFilterText } from '../../store/audit-listing.js'
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
      const query = { ...parseCursorQuery(request.query), limit: parseAuditLimit(request.query.limit) }
      const page = await store.listAuditEvents(query)
      const nextCursor = page.next === undefined ? null : String(page.next)
      return sendJson(reply, JSON.stringify({ events: page.events.map(publishedAuditEvent), next_cursor: nextCursor }))
    },
  )
}

/** The API pages with `cursor`/`next_cursor`, as GET /admin/v1/accounts does; the CLI's filter is `--after`. */
type AuditPageQuery = Omit<AuditFilterText, 'after'> & { cursor?: string }

function parseCursorQuery({ cursor, ...filters }: AuditPageQuery): ReturnType<typeof parseAuditQuery> {
  try {
    return parseAuditQuery({ ...filters, ...(cursor !== undefined ? { after: cursor } : {}) })
  } catch (error) {
    if (error instanceof AuditFilterError && error.field === 'after') throw new AuditFilterError('cursor', 'takes the next_cursor of the previous page')
    throw error
  }
}
