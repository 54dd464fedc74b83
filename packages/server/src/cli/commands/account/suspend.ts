import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, revokedBefore, withAdministration } from './shared.js'

export default defineCommand({
  name: 'suspend',
  summary: 'Suspend an account: token requests get 3009 and its earlier tokens are revoked.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const { revocation } = await withAdministration(context, (administration) => administration.suspend(id))
    printLine(context, `suspended ${id}; tokens issued before ${revokedBefore(revocation!.validAfter)} are revoked`)
  },
})
