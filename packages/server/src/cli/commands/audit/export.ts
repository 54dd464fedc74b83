/**
 * `bizauth audit export --since T`: JSON lines for a SIEM. Read one page at a time by seq and
 * written as the stream drains, so memory stays flat whatever the trail's size.
 */
import { once } from 'node:events'
import { defineCommand } from '../../command.js'
import { UsageError } from '../../errors.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { AUDIT_FILTER_OPTIONS, auditEventLine, auditQueryOf } from './shared.js'

const EXPORT_PAGE = 500

export default defineCommand({
  name: 'export',
  summary: 'Stream audit events as JSON lines (for a SIEM), in constant memory.',
  options: { ...AUDIT_FILTER_OPTIONS, ...STORE_OPTIONS },
  examples: ['bizauth audit export --since 2026-01-01 > audit.jsonl'],
  async run(context) {
    const query = auditQueryOf(context)
    if (query.since === undefined) throw new UsageError(context.commandPath, 'missing --since TIME (export everything with --since 1970-01-01T00:00:00Z)')
    const { stdout } = context.io
    await withStore(context, async (store) => {
      for (let after: number | undefined = 0; after !== undefined; ) {
        const page = await store.listAuditEvents({ ...query, after, limit: EXPORT_PAGE })
        const text = page.events.map((event) => `${auditEventLine(event)}\n`).join('')
        if (text !== '' && !stdout.write(text)) await once(stdout, 'drain')
        after = page.next
      }
    })
  },
})
