import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'drop-previous-password',
  summary: 'End a password rotation early: only the current password works, on every instance at once.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  examples: ['bizauth account drop-previous-password acme'],
  async run(context) {
    const id = accountIdArgument(context)
    const { before } = await withAdministration(context, (administration) => administration.dropPreviousPassword(id))
    printLine(context, before!.previousPasswordValidUntil ? `dropped the previous password of ${id}; only the current one works now` : `${id} had no previous password; nothing to drop`)
  },
})
