import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'resume',
  summary: 'Make a suspended account active again (tokens revoked earlier stay revoked).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    await withAdministration(context, (administration) => administration.resume(id))
    printLine(context, `resumed ${id}; it is active`)
  },
})
