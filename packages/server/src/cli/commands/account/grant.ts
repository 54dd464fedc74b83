import { ACCOUNT_ROLES } from '../../../store/store.js'
import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT, accountIdArgument, roleArgument, withAdministration } from './shared.js'

export default defineCommand({
  name: 'grant',
  summary: `Grant a role (${ACCOUNT_ROLES.join(', ')}) to an account.`,
  positionals: [ACCOUNT_ID_ARGUMENT, ROLE_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const role = roleArgument(context.args.ROLE ?? '')
    const { after } = await withAdministration(context, (administration) => administration.grantRole(id, role))
    printLine(context, `granted ${role} to ${id} (roles: ${after!.roles.join(', ')})`)
  },
})
