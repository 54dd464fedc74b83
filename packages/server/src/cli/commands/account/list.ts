import type { AccountView } from '../../../accounts/administration.js'
import { booleanOption, defineCommand, printLine, printTable, type CommandContext } from '../../command.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { JSON_OPTION, accountJson, describeIps, withAdministration } from './shared.js'

/** Accounts read per page: a store of a million accounts is listed in flat memory (issue 12 §4). */
const LIST_PAGE_SIZE = 1000

export default defineCommand({
  name: 'list',
  summary: 'List every account (never a password hash).',
  options: { json: JSON_OPTION, ...STORE_OPTIONS },
  async run(context) {
    const json = booleanOption(context, 'json')
    let listed = 0
    await withAdministration(context, async (administration) => {
      let after: string | undefined
      for (;;) {
        const page = await administration.list({ ...(after === undefined ? {} : { after }), limit: LIST_PAGE_SIZE })
        if (json) printJsonItems(context, page, listed)
        else if (page.length > 0) printAccounts(context, page, listed === 0)
        listed += page.length
        if (page.length < LIST_PAGE_SIZE) break
        after = page[page.length - 1]!.id
      }
    })
    if (json) printLine(context, listed === 0 ? '[]' : '\n]')
    else if (listed === 0) printLine(context, 'no accounts; create one with "bizauth account create ID --allow-ip CIDR"')
  },
})

/** The items of one JSON array, exactly as JSON.stringify(all, null, 2) prints them, a page at a time. */
function printJsonItems(context: CommandContext, page: readonly AccountView[], before: number): void {
  page.forEach((account, index) => {
    const item = JSON.stringify(accountJson(account), null, 2).replaceAll('\n', '\n  ')
    context.io.stdout.write(`${before + index === 0 ? '[' : ','}\n  ${item}`)
  })
}

/** One page as a table; the widths are each page's own (a page is a thousand rows). */
function printAccounts(context: CommandContext, page: readonly AccountView[], withHeader: boolean): void {
  const rows = page.map((a) => [a.id, a.status, describeIps(a.allowedIps), a.roles.join(',') || '-', a.createdAt.toISOString()])
  printTable(context, ['ID', 'STATUS', 'ALLOWED IPS', 'ROLES', 'CREATED'], rows, withHeader)
}
