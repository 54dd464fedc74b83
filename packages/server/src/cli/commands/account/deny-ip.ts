import { AllowedIpNotListedError } from '../../../accounts/administration.js'
import { defineCommand, printLine } from '../../command.js'
import { CliError } from '../../errors.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT, accountIdArgument, canonicalCidr, describeIps, withAdministration } from './shared.js'

export default defineCommand({
  name: 'deny-ip',
  summary: "Remove an address or CIDR range from an account's allowed IPs.",
  positionals: [ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const cidr = canonicalCidr(context.args.CIDR ?? '')
    try {
      const { after } = await withAdministration(context, (administration) => administration.denyIp(id, cidr))
      printLine(context, `removed ${cidr} from ${id} (allowed IPs: ${describeIps(after!.allowedIps)})`)
    } catch (error) {
      if (error instanceof AllowedIpNotListedError) {
        throw new CliError(`${cidr} is not an allowed IP of ${id} (allowed IPs: ${describeIps(error.allowedIps)}); nothing changed`)
      }
      throw error
    }
  },
})
