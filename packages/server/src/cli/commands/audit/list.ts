import { booleanOption, defineCommand, printLine, printTable, stringOption } from '../../command.js'
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX, parseAuditLimit } from '../../../store/audit-listing.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { AUDIT_FILTER_OPTIONS, auditEventLine, auditQueryOf, kstText, withAuditFlags } from './shared.js'

export default defineCommand({
  name: 'list',
  summary: 'List audit events, oldest first: a table in KST, or JSON lines with --json.',
  options: {
    ...AUDIT_FILTER_OPTIONS,
    limit: { type: 'string', valueName: 'N', description: `At most N events (1-${AUDIT_PAGE_MAX}).`, defaultText: String(AUDIT_PAGE_DEFAULT) },
    json: { type: 'boolean', description: 'One JSON object per line, with seq, time (UTC), actor, source, action, target, changes, prev_hash, hash.' },
    ...STORE_OPTIONS,
  },
  examples: ['bizauth audit list --account acme', 'bizauth audit list --action account.set_password --since 2026-01-01 --json'],
  async run(context) {
    const query = { ...auditQueryOf(context), limit: withAuditFlags(() => parseAuditLimit(stringOption(context, 'limit'))) }
    const { events } = await withStore(context, (store) => store.listAuditEvents(query))
    if (booleanOption(context, 'json')) {
      for (const event of events) printLine(context, auditEventLine(event))
      return
    }
    if (events.length === 0) {
      printLine(context, 'no audit events match')
      return
    }
    const rows = events.map((e) => [String(e.seq), kstText(e.time), `${e.actor.type}:${e.actor.id}`, e.source, e.action, e.target, describeChanges(e.changes)])
    printTable(context, ['SEQ', 'TIME', 'ACTOR', 'SOURCE', 'ACTION', 'TARGET', 'CHANGES'], rows)
  },
})

function describeChanges(changes: Record<string, [unknown, unknown]>): string {
  return Object.entries(changes)
    .map(([field, [before, after]]) => `${field}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`)
    .join('; ') || '-'
}
