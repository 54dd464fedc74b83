import { defineCommand, printLine } from '../../command.js'
import { CliError } from '../../errors.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT, accountIdArgument, canonicalCidr, describeIps } from './shared.js'

export default defineCommand({
  name: 'deny-ip',
  summary: "Remove an address or CIDR range from an account's allowed IPs.",
  positionals: [ACCOUNT_ID_ARGUMENT, CIDR_ARGUMENT],
  options: { ...STORE_OPTIONS },
  async run(context) {
    const id = accountIdArgument(context)
    const cidr = canonicalCidr(context.args.CIDR ?? '')
    const { account, removed } = await withStore(context, (store) => store.removeAllowedIp(id, cidr))
    // Not found is a failure, not a no-op: `deny-ip acme 10.0.0.7` while 10.0.0.0/24 is allowed
    // leaves 10.0.0.7 allowed, and the operator must learn that.
    if (!removed) throw new CliError(`${cidr} is not an allowed IP of ${id} (allowed IPs: ${describeIps(account.allowedIps)}); nothing changed`)
    printLine(context, `removed ${cidr} from ${id} (allowed IPs: ${describeIps(account.allowedIps)})`)
  },
})
