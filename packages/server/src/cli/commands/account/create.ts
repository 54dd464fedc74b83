import { ACCOUNT_ROLES, AccountExistsError } from '../../../store/store.js'
import { booleanOption, defineCommand, printLine, stringListOption } from '../../command.js'
import { writeLine } from '../../io.js'
import { passwordSource, promptNewPassword, readPasswordFromStdin } from '../../password-input.js'
import { STORE_OPTIONS } from '../../store-options.js'
import {
  ACCOUNT_ID_ARGUMENT,
  PASSWORD_STDIN_OPTION,
  accountIdArgument,
  canonicalCidr,
  describeIps,
  passwordHasherFromEnv,
  roleArgument,
  withAdministration,
} from './shared.js'

export default defineCommand({
  name: 'create',
  summary: 'Create an account (prints a generated password once unless one is given).',
  description:
    'Create an account. The password comes from --password-stdin, or from a prompt on a TTY;\n' +
    'otherwise a strong one is generated and printed once.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: {
    'allow-ip': { type: 'string', multiple: true, valueName: 'CIDR', description: 'An address or CIDR range allowed to request tokens.' },
    role: { type: 'string', multiple: true, valueName: 'ROLE', description: `A role to grant (${ACCOUNT_ROLES.join(', ')}).` },
    'password-stdin': PASSWORD_STDIN_OPTION,
    ...STORE_OPTIONS,
  },
  examples: [
    'bizauth account create acme --allow-ip 203.0.113.7',
    "printf '%s\\n' \"$PASSWORD\" | bizauth account create acme --allow-ip 203.0.113.0/24 --password-stdin",
    'bizauth account create api-gateway --role introspect --allow-ip 10.0.0.0/8',
  ],
  async run(context) {
    // Every value is checked before the store opens or a password is asked for.
    const id = accountIdArgument(context)
    const allowedIps = stringListOption(context, 'allow-ip').map(canonicalCidr)
    const roles = stringListOption(context, 'role').map(roleArgument)
    passwordHasherFromEnv(context)

    return withAdministration(context, async (administration) => {
      // Checked before asking for a password, so nobody types one for nothing.
      if (await administration.exists(id)) throw new AccountExistsError(id)
      const source = passwordSource(context.io, booleanOption(context, 'password-stdin'))
      const password = source === 'stdin' ? await readPasswordFromStdin(context.io) : source === 'prompt' ? await promptNewPassword(context.io) : undefined
      const { after: account, generatedPassword } = await administration.create({ id, allowedIps, roles, password })

      printLine(context, `created account ${account!.id} (allowed IPs: ${describeIps(account!.allowedIps)}${account!.roles.length ? `; roles: ${account!.roles.join(', ')}` : ''})`)
      if (generatedPassword !== undefined) {
        printLine(context, `password: ${generatedPassword}`)
        writeLine(context.io.stderr, 'The password is shown only this once; store it now. Change it with "bizauth account set-password".')
      }
      if (account!.allowedIps.length === 0) {
        writeLine(context.io.stderr, `note: no allowed IP yet, so token requests get 3000; add one with "bizauth account allow-ip ${account!.id} CIDR".`)
      }
    })
  },
})
