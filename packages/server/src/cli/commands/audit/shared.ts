/**
 * What every CLI command that changes something records in the audit trail (issue 11 §1): the
 * OS user as the actor, the host name as the source, and the trail's seal from
 * BIZAUTH_AUDIT_KEY (the `auditKey` setting: environment only, a key in argv would show in `ps`).
 */
import { hostname, userInfo } from 'node:os'
import { ConfigError, readSetting } from '../../../config.js'
import { createAuditSeal } from '../../../store/audit-chain.js'
import { AuditFilterError, parseAuditQuery, publishedAuditEvent, type AuditFilterText } from '../../../store/audit-listing.js'
import { AUDIT_ACTIONS, AuditSealMismatchError, type AuditEvent, type AuditQuery, type AuditSeal, type AuditWriter } from '../../../store/store.js'
import { formatKst } from '../../../tokens/kst.js'
import { stringOption, type CommandContext, type OptionSpec } from '../../command.js'
import { CliError } from '../../errors.js'

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

/** Runs a parser of audit-listing.ts, turning its refusal into the CLI's `--flag …` error. */
export function withAuditFlags<T>(parse: () => T): T {
  try {
    return parse()
  } catch (error) {
    if (error instanceof AuditFilterError) throw new CliError(`--${error.field} ${error.message}`)
    throw error
  }
}

/** The filters `audit list` and `audit export` share, read from their flags. */
export function auditQueryOf(context: CommandContext): AuditQuery {
  const flags: AuditFilterText = {}
  for (const name of ['account', 'action', 'since', 'until'] as const) {
    const value = stringOption(context, name)
    if (value !== undefined) flags[name] = value
  }
  return withAuditFlags(() => parseAuditQuery(flags))
}

export const AUDIT_FILTER_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  account: { type: 'string', valueName: 'ID', description: 'Only events about this account.' },
  action: { type: 'string', valueName: 'ACTION', description: `Only this action (${AUDIT_ACTIONS.join(', ')}).` },
  since: { type: 'string', valueName: 'TIME', description: 'Only events at or after this time (ISO 8601; without an offset: KST).' },
  until: { type: 'string', valueName: 'TIME', description: 'Only events before this time.' },
}

/** One event as a JSON line: the published form the admin API answers too. */
export const auditEventLine = (event: AuditEvent): string => JSON.stringify(publishedAuditEvent(event))

/** `2026-12-01 18:31:32 KST`, by the contract's KST rule (tokens/kst.ts). */
export function kstText(iso: string): string {
  const k = formatKst(Math.floor(Date.parse(iso) / 1000))
  return `${k.slice(0, 4)}-${k.slice(4, 6)}-${k.slice(6, 8)} ${k.slice(8, 10)}:${k.slice(10, 12)}:${k.slice(12, 14)} KST`
}
