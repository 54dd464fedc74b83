import { AccountMissingError } from '../../../store/store.js'
import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, accountIdArgument, tokenRevocationInstant } from './shared.js'

export default defineCommand({
  name: 'delete',
  summary: 'Delete an account and revoke its tokens; its token requests get 3006 from then on.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const existed = await withStore(context, async (store) => {
      // Revoke first: the feed tells every server and offline verifier, which would otherwise
      // keep accepting the deleted account's cached tokens until they expire.
      const { validAfter, expiresAt } = tokenRevocationInstant()
      await store.revokeAccountTokens(id, validAfter, expiresAt)
      return store.deleteAccount(id)
    })
    if (!existed) throw new AccountMissingError(id)
    printLine(context, `deleted ${id}`)
  },
})
