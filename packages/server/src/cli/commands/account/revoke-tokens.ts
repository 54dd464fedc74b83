import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, tokenRevocationInstant } from './shared.js'

export default defineCommand({
  name: 'revoke-tokens',
  summary: 'Revoke every token an account holds (it may request new ones).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const { validAfter, expiresAt } = tokenRevocationInstant()
    await withStore(context, (store) => store.revokeAccountTokens(id, validAfter, expiresAt))
    printLine(context, `revoked every token of ${id} issued before ${new Date(validAfter * 1000).toISOString()}`)
  },
})
