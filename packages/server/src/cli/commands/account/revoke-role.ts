import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT, accountIdArgument, roleArgument } from './shared.js'

export default defineCommand({
  name: 'revoke-role',
  summary: 'Take a role away from an account.',
  positionals: [ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const role = roleArgument(context.args.ROLE ?? '')
    // Not holding the role is the state asked for, so it succeeds (unlike deny-ip, where a
    // missing entry may mean the address is still allowed through a range).
    const account = await withStore(context, (store) => store.revokeRole(id, role))
    printLine(context, `${id} does not hold ${role} (roles: ${account.roles.join(', ') || 'none'})`)
  },
})
