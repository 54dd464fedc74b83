/**
 * `bizauth audit prune`: deletes events older than the retention and keeps a checkpoint (the
 * last pruned seq and hash), from which `audit verify` still verifies. The server prunes by
 * itself as well; this is for a trail no server runs against, or to prune at once.
 */
import { ConfigError, SETTINGS, readSetting } from '../../../config.js'
import { defineCommand, printLine, stringOption } from '../../command.js'
import { CliError } from '../../errors.js'
import { settingOption } from '../../setting-options.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'

const RETENTION = SETTINGS.auditRetentionDays

export default defineCommand({
  name: 'prune',
  summary: 'Delete audit events older than the retention, keeping a checkpoint the chain verifies from.',
  options: { [RETENTION.flag]: settingOption(RETENTION), ...STORE_OPTIONS },
  async run(context) {
    let days: number
    try {
      days = readSetting('auditRetentionDays', { [RETENTION.flag]: stringOption(context, RETENTION.flag) }, context.io.env) ?? RETENTION.default
    } catch (error) {
      if (error instanceof ConfigError) throw new CliError(error.message)
      throw error
    }
    const before = new Date(Date.now() - days * 86_400_000)
    const pruned = await withStore(context, (store) => store.pruneAuditEvents(before))
    printLine(context, `pruned ${pruned} events older than ${before.toISOString()}`)
  },
})
