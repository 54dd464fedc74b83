import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'unlock',
  summary: 'Clear a lockout after wrong passwords, on every running server at once.',
  description:
    'Clear the lockout of an account (too many wrong passwords: token requests get 3008).\n' +
    'Every server sees it on the next request; no restart is needed. "set-password" clears it too.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    await withAdministration(context, (administration) => administration.unlock(id))
    printLine(context, `unlocked ${id}; its wrong-password count starts again from 0`)
  },
})
