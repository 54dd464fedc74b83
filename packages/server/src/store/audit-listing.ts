/**
 * Reading the audit trail, for every way in: `bizauth audit list|export` and GET /admin/v1/audit
 * (which the console calls). One published form of an event and one grammar of the filters, so
 * the CLI's `--json` line and the API's event are the same object, and a `--since` the CLI takes
 * is a `since` the API takes.
 *
 * Nothing here knows argv or HTTP: a refusal is an AuditFilterError naming the filter, which the
 * CLI prints as `--since …` and the API answers as 400 `since: …`.
 */
import { printable } from '../printable.js'
import { AUDIT_ACTIONS, type AuditAction, type AuditEvent, type AuditQuery } from './store.js'

/** Events per page when none is asked for, and the most one page may hold. */
export const AUDIT_PAGE_DEFAULT = 100
export const AUDIT_PAGE_MAX = 1000

export type AuditFilterName = 'account' | 'action' | 'since' | 'until' | 'after' | 'limit' | 'cursor'

/** A filter's text that does not parse; `message` completes "<filter> …". */
export class AuditFilterError extends Error {
  override readonly name = 'AuditFilterError'
  constructor(
    readonly field: AuditFilterName,
    message: string,
  ) {
    super(message)
  }
}

/** An event as `audit list --json` prints it and the admin API answers it: exactly these fields, in this order. */
export type PublishedAuditEvent = Pick<AuditEvent, 'seq' | 'time' | 'actor' | 'source' | 'action' | 'target' | 'changes' | 'prev_hash' | 'hash'>

export function publishedAuditEvent(event: AuditEvent): PublishedAuditEvent {
  const { seq, time, actor, source, action, target, changes, prev_hash, hash } = event
  return { seq, time, actor: { type: actor.type, id: actor.id }, source, action, target, changes, prev_hash, hash }
}

/** ISO 8601; a date or time without an offset is read in KST, as the CLI's table shows times. */
const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/

export function parseAuditTime(field: 'since' | 'until', text: string): Date {
  const match = TIME.exec(text.trim())
  if (match) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = '+09:00'] = match
    const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${zone}`)
    // Date rolls 2026-02-30 over to March: only a day that reads back the same in its own offset
    // is the one written (in UTC, 2026-01-01 KST is still 2025).
    if (!Number.isNaN(date.getTime()) && sameCalendarDay(date, y!, mo!, d!, zone)) return date
  }
  throw new AuditFilterError(field, `takes an ISO 8601 time, e.g. 2026-01-31 or 2026-01-31T09:00:00Z (without an offset: KST), not "${printable(text, 40)}"`)
}

/** The date as written in its own offset, to refuse days a month does not have. */
function sameCalendarDay(date: Date, y: string, mo: string, d: string, zone: string): boolean {
  const offsetMinutes = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)))
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString()
  return local.slice(0, 10) === `${y}-${mo}-${d}`
}

export function parseAuditAction(text: string): AuditAction {
  const action = AUDIT_ACTIONS.find((known) => known === text)
  if (!action) throw new AuditFilterError('action', `takes one of ${AUDIT_ACTIONS.join(', ')}, not "${printable(text, 40)}"`)
  return action
}

export function parseAuditLimit(text: string | undefined): number {
  if (text === undefined) return AUDIT_PAGE_DEFAULT
  const limit = /^\d{1,7}$/.test(text) ? Number(text) : NaN
  if (!(limit >= 1 && limit <= AUDIT_PAGE_MAX)) throw new AuditFilterError('limit', `takes a whole number from 1 to ${AUDIT_PAGE_MAX}`)
  return limit
}

/**
 * The cursor: the seq after which the page starts (the previous page's `next`). The CLI calls it
 * `--after`; the admin API `cursor`, handing out `next_cursor` as GET /admin/v1/accounts does.
 */
export function parseAuditCursor(text: string, field: 'after' | 'cursor' = 'after'): number {
  const after = /^\d{1,15}$/.test(text) ? Number(text) : NaN
  if (!Number.isSafeInteger(after)) {
    throw new AuditFilterError(field, field === 'cursor' ? 'takes the next_cursor of the previous page' : 'takes the seq of the last event already read (a whole number)')
  }
  return after
}

/** The filters as text, as a flag or a query parameter gives them. */
export type AuditFilterText = Partial<Record<AuditFilterName, string>>

/** The store's query for the given filters; `limit` is left out unless given (export pages by itself). */
export function parseAuditQuery(text: AuditFilterText): AuditQuery {
  const { account, action, since, until, after, limit } = text
  return {
    ...(account !== undefined ? { account } : {}),
    ...(action !== undefined ? { action: parseAuditAction(action) } : {}),
    ...(since !== undefined ? { since: parseAuditTime('since', since) } : {}),
    ...(until !== undefined ? { until: parseAuditTime('until', until) } : {}),
    ...(after !== undefined ? { after: parseAuditCursor(after) } : {}),
    ...(limit !== undefined ? { limit: parseAuditLimit(limit) } : {}),
  }
}
