import { once } from 'node:events'
import { booleanOption, defineCommand } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { withAdministration } from './shared.js'

export default defineCommand({
  name: 'export',
  summary: 'Print every account as JSON lines, the format "account import" reads.',
  description:
    'Streams every account in id order as JSON lines on stdout, for a backup or a move between\n' +
    'SQLite and PostgreSQL. Password hashes are left out unless --include-hashes is given; without\n' +
    'them the file cannot be imported. Not a snapshot: a change made meanwhile may or may not show.',
  options: {
    'include-hashes': { type: 'boolean', description: 'Include each password hash (a secret: keep the file safe).' },
    ...STORE_OPTIONS,
  },
  examples: ['bizauth account export --include-hashes > accounts.jsonl'],
  async run(context) {
    const includeHashes = booleanOption(context, 'include-hashes')
    const { stdout } = context.io
    await withAdministration(context, async (administration) => {
      for await (const account of administration.exportAccounts({ includeHashes })) {
        // Waits for a slow reader instead of buffering the whole store in memory.
        if (!stdout.write(`${JSON.stringify(account)}\n`)) await once(stdout, 'drain')
      }
    })
  },
})
