import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'delete',
  summary: 'Delete an account and revoke its tokens; its token requests get 3006 from then on.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    await withAdministration(context, (administration) => administration.delete(id))
    printLine(context, `deleted ${id}`)
  },
})
