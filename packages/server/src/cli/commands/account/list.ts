import { booleanOption, defineCommand, printLine } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { JSON_OPTION, accountJson, describeIps, withAdministration } from './shared.js'

export default defineCommand({
  name: 'list',
  summary: 'List every account (never a password hash).',
  options: { json: JSON_OPTION, ...STORE_OPTIONS },
  async run(context) {
    const accounts = await withAdministration(context, (administration) => administration.list())
    if (booleanOption(context, 'json')) {
      printLine(context, JSON.stringify(accounts.map(accountJson), null, 2))
      return
    }
    if (accounts.length === 0) {
      printLine(context, 'no accounts; create one with "bizauth account create ID --allow-ip CIDR"')
      return
    }
    const rows = accounts.map((a) => [a.id, a.status, describeIps(a.allowedIps), a.roles.join(',') || '-', a.createdAt.toISOString()])
    const table = [['ID', 'STATUS', 'ALLOWED IPS', 'ROLES', 'CREATED'], ...rows]
    const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)))
    for (const row of table) printLine(context, row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd())
  },
})
