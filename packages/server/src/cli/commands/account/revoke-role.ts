import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT, accountIdArgument, roleArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'revoke-role',
  summary: 'Take a role away from an account.',
  positionals: [ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const role = roleArgument(context.args.ROLE ?? '')
    const { after } = await withAdministration(context, (administration) => administration.revokeRole(id, role))
    printLine(context, `${id} does not hold ${role} (roles: ${after!.roles.join(', ') || 'none'})`)
  },
})
