import { SETTINGS } from '../../../config.js'
import { rotateSigningKey } from '../../../keys/key-view.js'
import { booleanOption, defineCommand, printLine, stringOption } from '../../command.js'
import { secretNotes, settingOption } from '../../setting-options.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { PROMOTION_DELAY_SPEC, SIGNING_ALG_SPEC, keyEncryptionFor, keySettings } from './shared.js'
import { auditedChange, cliAuditWriter } from '../audit/shared.js'

export default defineCommand({
  name: 'rotate',
  summary: 'Add a new signing key: published at once, signing after the promotion delay (or --now).',
  description:
    'Adds a "next" key and returns at once. Running servers publish it in their JWKS at once on\n' +
    `PostgreSQL (on SQLite, on their next key refresh) and make it current after --${PROMOTION_DELAY_SPEC.flag}\n` +
    `(default ${PROMOTION_DELAY_SPEC.default} s), so verifiers have fetched it before any token is signed with it. With --now\n` +
    `it is current at once and running servers sign with it at once on PostgreSQL, else within\n` +
    `--${SETTINGS.keyRefreshSeconds.flag} seconds (default ${SETTINGS.keyRefreshSeconds.default}); the old key is retired and stays published until its last\n` +
    'token has expired.\n\n' +
    'At most one next key waits. If one already does (added by an earlier rotate, by automatic\n' +
    'rotation, or by this command started on another host at the same moment), nothing is added:\n' +
    'the waiting key is reported ("a next key was already waiting"), and with --now it is the\n' +
    'one made current.',
  options: {
    now: { type: 'boolean', description: 'Make the new key current at once (verifiers with a cached JWKS refetch on the unknown kid).' },
    [SIGNING_ALG_SPEC.flag]: {
      ...settingOption(SIGNING_ALG_SPEC),
      description: 'Algorithm of the new key.',
      defaultText: "the current key's algorithm, else EdDSA",
    },
    ...STORE_OPTIONS,
  },
  notes: secretNotes([SETTINGS.keyEncryptionKey], () => 'Required when the stored keys are encrypted; the new key is encrypted with it.'),
  examples: ['bizauth keys rotate', 'bizauth keys rotate --now', 'bizauth keys rotate --signing-alg ES256'],
  async run(context) {
    const { algorithm } = keySettings(context, { [SIGNING_ALG_SPEC.flag]: stringOption(context, SIGNING_ALG_SPEC.flag) })
    const immediately = booleanOption(context, 'now')
    const audit = cliAuditWriter(context)
    const result = await auditedChange(() =>
      withStore(context, async (store) => {
        const encryption = await keyEncryptionFor(context, store)
        const rotated = await rotateSigningKey(store, { algorithm, encryption, audit }, immediately)
        return { ...rotated, encrypted: encryption.enabled }
      }),
    )
    if (!result.created) printLine(context, 'a next key was already waiting: no key added')
    printLine(context, `kid:       ${result.kid}`)
    printLine(context, `alg:       ${result.alg}`)
    printLine(context, `state:     ${result.promoted ? 'current' : 'next'}`)
    printLine(context, `encrypted: ${result.encrypted ? 'yes' : `no (set ${SETTINGS.keyEncryptionKey.env} to encrypt keys at rest)`}`)
    const which = result.created ? 'the new key' : 'the waiting key'
    printLine(
      context,
      result.promoted
        ? `${which} is current: running servers sign with it at once on PostgreSQL, else after their next key refresh (a few seconds)`
        : `${which} is published as next: running servers make it current after the promotion delay`,
    )
  },
})
