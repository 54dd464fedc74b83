/**
 * What every CLI command that changes something records in the audit trail (issue 11 §1): the
 * OS user as the actor, the host name as the source, and the trail's seal from
 * BIZAUTH_AUDIT_KEY (the `auditKey` setting: environment only, a key in argv would show in `ps`).
 */
import { hostname, userInfo } from 'node:os'
import { ConfigError, readSetting } from '../../../config.js'
import { createAuditSeal } from '../../../store/audit-chain.js'
import { AUDIT_ACTIONS, AuditSealMismatchError, type AuditAction, type AuditEvent, type AuditQuery, type AuditSeal, type AuditWriter } from '../../../store/store.js'
import { formatKst } from '../../../tokens/kst.js'
import { stringOption, type CommandContext, type OptionSpec } from '../../command.js'
import { CliError, printable } from '../../errors.js'

/** The trail's seal, from the `auditKey` setting (environment only, like every secret). */
export function cliAuditSeal(context: CommandContext): AuditSeal {
  try {
    return createAuditSeal(readSetting('auditKey', {}, context.io.env))
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message)
    throw error
  }
}

/** The OS user running the command; a container without a passwd entry still has a uid. */
function osUser(context: CommandContext): string {
  try {
    return userInfo().username
  } catch {
    return context.io.env.USER ?? context.io.env.LOGNAME ?? `uid:${process.getuid?.() ?? 'unknown'}`
  }
}

export function cliAuditWriter(context: CommandContext): AuditWriter {
  return { context: { actor: { type: 'cli', id: osUser(context) }, source: hostname() }, seal: cliAuditSeal(context) }
}

/** Runs a change, turning a seal mismatch into the one-line error that says what to do. */
export async function auditedChange<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof AuditSealMismatchError) throw new CliError(`${error.message} (nothing changed)`)
    throw error
  }
}

/** `--since`/`--until`: ISO 8601; a date or time without an offset is read in KST, as shown. */
const TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?(Z|[+-]\d{2}:\d{2})?$/

export function parseAuditTime(flag: string, text: string): Date {
  const match = TIME.exec(text.trim())
  if (match) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = '+09:00'] = match
    const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction}${zone}`)
    if (!Number.isNaN(date.getTime()) && date.toISOString().slice(0, 4) === y) return date
  }
  throw new CliError(`--${flag} takes an ISO 8601 time, e.g. 2026-01-31 or 2026-01-31T09:00:00Z (without an offset: KST), not "${printable(text, 40)}"`)
}

export function parseAuditAction(text: string): AuditAction {
  const action = AUDIT_ACTIONS.find((known) => known === text)
  if (!action) throw new CliError(`unknown action "${printable(text, 40)}"; the actions are ${AUDIT_ACTIONS.join(', ')}`)
  return action
}

/** The filters `audit list` and `audit export` share, read from their flags. */
export function auditQueryOf(context: CommandContext): AuditQuery {
  const since = stringOption(context, 'since')
  const until = stringOption(context, 'until')
  const account = stringOption(context, 'account')
  const action = stringOption(context, 'action')
  return {
    ...(account !== undefined ? { account } : {}),
    ...(action !== undefined ? { action: parseAuditAction(action) } : {}),
    ...(since !== undefined ? { since: parseAuditTime('since', since) } : {}),
    ...(until !== undefined ? { until: parseAuditTime('until', until) } : {}),
  }
}

export const AUDIT_FILTER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  account: { type: 'string', valueName: 'ID', description: 'Only events about this account.' },
  action: { type: 'string', valueName: 'ACTION', description: `Only this action (${AUDIT_ACTIONS.join(', ')}).` },
  since: { type: 'string', valueName: 'TIME', description: 'Only events at or after this time (ISO 8601; without an offset: KST).' },
  until: { type: 'string', valueName: 'TIME', description: 'Only events before this time.' },
}

/** One event as a JSON line: exactly the published fields, in a fixed order. */
export function auditEventLine(event: AuditEvent): string {
  const { seq, time, actor, source, action, target, changes, prev_hash, hash } = event
  return JSON.stringify({ seq, time, actor, source, action, target, changes, prev_hash, hash })
}

/** `2026-12-01 18:31:32 KST`, by the contract's KST rule (tokens/kst.ts). */
export function kstText(iso: string): string {
  const k = formatKst(Math.floor(Date.parse(iso) / 1000))
  return `${k.slice(0, 4)}-${k.slice(4, 6)}-${k.slice(6, 8)} ${k.slice(8, 10)}:${k.slice(10, 12)}:${k.slice(12, 14)} KST`
}
