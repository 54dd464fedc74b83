/**
 * `bizauth audit verify [--expect-head HASH]`: walks the chain (store/audit-chain.ts). Exit 0
 * prints the event count and the head hash, for the operator to keep somewhere the database's
 * writers cannot reach; exit 1 names the first bad seq.
 */
import { verifyAuditChain } from '../../../store/audit-chain.js'
import { defineCommand, printLine, stringOption } from '../../command.js'
import { CliError } from '../../errors.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { SETTINGS } from '../../../config.js'
import { secretNotes } from '../../setting-options.js'
import { cliAuditSeal } from './shared.js'

const HASH = /^[0-9a-f]{64}$/

export default defineCommand({
  name: 'verify',
  summary: 'Verify the audit chain; print its event count and head hash, or name the first bad seq.',
  options: {
    'expect-head': { type: 'string', valueName: 'HASH', description: 'A head hash printed earlier: the chain must still reach it (detects a trail cut short).' },
    ...STORE_OPTIONS,
  },
  notes: secretNotes([SETTINGS.auditKey], () => 'The key the trail is sealed with; without it, verification uses plain SHA-256.'),
  examples: ['bizauth audit verify', 'bizauth audit verify --expect-head 3f5a…'],
  async run(context) {
    const expectHead = stringOption(context, 'expect-head')
    if (expectHead !== undefined && !HASH.test(expectHead)) throw new CliError('--expect-head takes a head hash as printed by "bizauth audit verify" (64 hex digits)')
    const seal = cliAuditSeal(context)
    const verdict = await withStore(context, (store) => verifyAuditChain(store, seal, expectHead))
    if (!verdict.ok) throw new CliError(`audit chain broken at seq ${verdict.seq}: ${verdict.reason}`)
    printLine(context, `ok: ${verdict.events} events verified (${seal.algorithm}${verdict.checkpointSeq > 0 ? `, from the checkpoint at seq ${verdict.checkpointSeq}` : ''})`)
    printLine(context, `head seq:  ${verdict.headSeq}`)
    printLine(context, `head hash: ${verdict.headHash}`)
  },
})
