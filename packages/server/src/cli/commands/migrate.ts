import { defineCommand, printLine } from '../command.js'
import { STORE_OPTIONS, describeStoreLocation, storeLocation, withStore } from '../store-options.js'

export default defineCommand({
  name: 'migrate',
  summary: 'Create or upgrade the store schema (serve also does this at start).',
  options: { ...STORE_OPTIONS },
  async run(context) {
    const location = storeLocation(context)
    const accounts = await withStore(context, (store) => store.countAccounts())
    printLine(context, `migrated the store (${describeStoreLocation(location)}): the schema is up to date; ${accounts} account${accounts === 1 ? '' : 's'}`)
  },
})
