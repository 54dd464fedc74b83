import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, revokedBefore, withAdministration } from './shared.js'

export default defineCommand({
  name: 'revoke-tokens',
  summary: 'Revoke every token an account holds (it may request new ones).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const { revocation } = await withAdministration(context, (administration) => administration.revokeTokens(id))
    printLine(context, `revoked every token of ${id} issued before ${revokedBefore(revocation!.validAfter)}`)
  },
})
