import { AccountMissingError } from '../../../store/store.js'
import { booleanOption, defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, JSON_OPTION, accountIdArgument, accountJson, accountText } from './shared.js'

export default defineCommand({
  name: 'show',
  summary: 'Show one account (never its password hash).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { json: JSON_OPTION, ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const account = await withStore(context, (store) => store.getAccount(id))
    if (!account) throw new AccountMissingError(id)
    if (booleanOption(context, 'json')) printLine(context, JSON.stringify(accountJson(account), null, 2))
    else for (const line of accountText(account)) printLine(context, line)
  },
})
