import { defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT, accountIdArgument, canonicalCidr, describeIps, withAdministration } from './shared.js'

export default defineCommand({
  name: 'allow-ip',
  summary: 'Allow an address or CIDR range to request tokens for an account.',
  positionals: [ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const cidr = canonicalCidr(context.args.CIDR ?? '')
    const { after } = await withAdministration(context, (administration) => administration.allowIp(id, cidr))
    printLine(context, `allowed ${cidr} for ${id} (allowed IPs: ${describeIps(after!.allowedIps)})`)
  },
})
