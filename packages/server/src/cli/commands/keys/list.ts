import { booleanOption, defineCommand, printLine, printTable, stringOption } from '../../command.js'
import { settingOption } from '../../setting-options.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { JSON_OPTION } from '../account/shared.js'
import { keyViews } from '../../../keys/key-view.js'
import { PROMOTION_DELAY_SPEC, keySettings } from './shared.js'

export default defineCommand({
  name: 'list',
  summary: 'List every signing key with its state and dates (never key material).',
  description:
    'States: next (published, not yet signing), current (signing), retired (published until the\n' +
    'last token it signed has expired, plus a 300 s clock-skew margin; then removed).',
  options: {
    json: JSON_OPTION,
    [PROMOTION_DELAY_SPEC.flag]: {
      ...settingOption(PROMOTION_DELAY_SPEC),
      description: `${PROMOTION_DELAY_SPEC.description} Used to show when a next key is promoted.`,
    },
    ...STORE_OPTIONS,
  },
  async run(context) {
    const { promotionDelaySeconds } = keySettings(context, { [PROMOTION_DELAY_SPEC.flag]: stringOption(context, PROMOTION_DELAY_SPEC.flag) })
    const records = await withStore(context, (store) => store.listKeys())
    const keys = keyViews(records, promotionDelaySeconds)
    if (booleanOption(context, 'json')) {
      printLine(context, JSON.stringify(keys, null, 2))
      return
    }
    if (keys.length === 0) {
      printLine(context, 'no signing keys yet; the server creates the first one at start (or run "bizauth keys rotate --now")')
      return
    }
    const rows = keys.map((key) => [
      key.kid,
      key.alg,
      key.state,
      key.createdAt,
      key.activatedAt ?? '-',
      key.retiredAt ?? '-',
      key.promotesAt ? `promoted after ${key.promotesAt}` : key.removedAfter ? `removed after ${key.removedAfter}` : '-',
    ])
    printTable(context, ['KID', 'ALG', 'STATE', 'CREATED', 'ACTIVATED', 'RETIRED', 'NEXT STEP'], rows)
  },
})
