import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, tokenRevocationInstant } from './shared.js'

export default defineCommand({
  name: 'suspend',
  summary: 'Suspend an account: token requests get 3009 and its earlier tokens are revoked.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const { validAfter } = tokenRevocationInstant()
    await withStore(context, (store) => store.setStatus(id, 'suspended', { revokeTokensAt: validAfter }))
    printLine(context, `suspended ${id}; tokens issued before ${new Date(validAfter * 1000).toISOString()} are revoked`)
  },
})
