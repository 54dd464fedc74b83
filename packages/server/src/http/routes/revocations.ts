/**
 * `GET /v1/token/revocations?since=<cursor>`: the changes feed offline verifiers follow
 * (docs/wire.md). Same callers as introspection. At most PAGE_SIZE events per answer; a verifier
 * behind by more reads the rest on its next poll.
 */
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../services.js'
import type { RevocationEvent } from '../../store/store.js'
import { sendJson } from '../render-error.js'
import { authenticateIntrospectionCaller } from './introspection-caller.js'

export const REVOCATIONS_PAGE_SIZE = 1000

/** wire.md: a `since` that is not a non-negative integer means 0, the full snapshot. */
export function parseCursor(since: unknown): number {
  if (typeof since !== 'string' || !/^\d{1,15}$/.test(since)) return 0
  return Number(since)
}

function wireEvent(event: RevocationEvent): Record<string, unknown> {
  return event.kind === 'jti'
    ? { seq: event.seq, kind: 'jti', jti: event.subject, exp: event.at }
    : { seq: event.seq, kind: 'account', sub: event.subject, validAfter: event.at }
}

export function registerRevocationsRoute(app: FastifyInstance, services: Services): void {
  const { config, authenticator, store } = services

  app.get('/v1/token/revocations', async (request, reply) => {
    await authenticateIntrospectionCaller(authenticator, request, config.trustProxy)
    const since = parseCursor((request.query as Record<string, unknown> | undefined)?.since)
    const events = await store.revocationsSince(since, REVOCATIONS_PAGE_SIZE)
    const cursor = events.length > 0 ? events[events.length - 1]!.seq : since
    return sendJson(reply, JSON.stringify({ events: events.map(wireEvent), cursor: String(cursor) }))
  })
}
