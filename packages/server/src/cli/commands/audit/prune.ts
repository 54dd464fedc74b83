/**
 * `bizauth audit prune`: deletes events older than the retention and keeps a checkpoint (the
 * last pruned seq and hash), from which `audit verify` still verifies. The server prunes by
 * itself as well; this is for a trail no server runs against, or to prune at once.
 */
import { defineCommand, printLine, stringOption } from '../../command.js'
import { CliError } from '../../errors.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { AUDIT_RETENTION_DAYS_DEFAULT } from '../../../store/audit-chain.js'

export default defineCommand({
  name: 'prune',
  summary: 'Delete audit events older than the retention, keeping a checkpoint the chain verifies from.',
  options: {
    'audit-retention-days': {
      type: 'string',
      valueName: 'DAYS',
      description: 'Keep this many days of events (Korean rules ask 3 years of access-right changes).',
      env: 'BIZAUTH_AUDIT_RETENTION_DAYS',
      defaultText: String(AUDIT_RETENTION_DAYS_DEFAULT),
    },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const text = stringOption(context, 'audit-retention-days') ?? context.io.env.BIZAUTH_AUDIT_RETENTION_DAYS ?? String(AUDIT_RETENTION_DAYS_DEFAULT)
    const days = /^\d+$/.test(text) ? Number(text) : NaN
    if (!(days >= 1)) throw new CliError('--audit-retention-days takes a whole number of days, at least 1')
    const before = new Date(Date.now() - days * 86_400_000)
    const pruned = await withStore(context, (store) => store.pruneAuditEvents(before))
    printLine(context, `pruned ${pruned} events older than ${before.toISOString()}`)
  },
})
