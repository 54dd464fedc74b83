import { booleanOption, defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, JSON_OPTION, accountIdArgument, accountJson, accountText, withAdministration } from './shared.js'

export default defineCommand({
  name: 'show',
  summary: 'Show one account (never its password hash).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { json: JSON_OPTION, ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const account = await withAdministration(context, (administration) => administration.show(id))
    if (booleanOption(context, 'json')) printLine(context, JSON.stringify(accountJson(account), null, 2))
    else for (const line of accountText(account)) printLine(context, line)
  },
})
