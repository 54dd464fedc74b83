/**
 * What the account sub-commands share: checking their arguments at the edge (with the
 * administration service's own rules, so nothing is asked or opened for a value it would
 * refuse), the service they call, and how an account is shown. No rule of its own lives here.
 */
import {
  AccountAdministration,
  AccountInputError,
  canonicalAllowedIp,
  validAccountId,
  validRole,
  type AccountView,
} from '../../../accounts/administration.js'
import { PasswordHasher } from '../../../accounts/passwords.js'
import type { PasswordPolicy } from '../../../accounts/password-policy.js'
import { ConfigError, SETTINGS, resolveArgon2, resolveSettings } from '../../../config.js'
import { ACCOUNT_ROLES, type AccountRole } from '../../../store/store.js'
import { stringOption, type CommandContext, type OptionSpec, type PositionalSpec } from '../../command.js'
import { CliError, printable } from '../../errors.js'
import { withStore } from '../../store-options.js'
import { auditedChange, cliAuditWriter } from '../audit/shared.js'

export const ACCOUNT_ID_ARGUMENT: PositionalSpec = {
  name: 'ID',
  description: 'The account id: 1-64 characters of A-Z a-z 0-9 . _ @ -',
}

export const CIDR_ARGUMENT: PositionalSpec = {
  name: 'CIDR',
  description: 'An IPv4/IPv6 address (that single host) or a CIDR range, e.g. 203.0.113.7 or 203.0.113.0/24.',
}

export const ROLE_ARGUMENT: PositionalSpec = {
  name: 'ROLE',
  description: `A role: ${ACCOUNT_ROLES.join(', ')} (introspect: may call /v1/token/introspect and read the revocation feed; admin: the admin API and console; viewer: their read-only part).`,
}

export const PASSWORD_STDIN_OPTION: OptionSpec = {
  type: 'boolean',
  description: 'Read the password from the first line of stdin (passwords are never taken from arguments).',
}

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text.' }

/** Runs a validator of the administration service, turning its refusal into a one-line CLI error. */
function checked<T>(validate: () => T, message: (error: AccountInputError) => string): T {
  try {
    return validate()
  } catch (error) {
    if (error instanceof AccountInputError) throw new CliError(message(error))
    throw error
  }
}

export function accountIdArgument(context: CommandContext): string {
  const id = context.args.ID ?? ''
  return checked(() => validAccountId(id), () => `invalid account id "${printable(id)}": use 1-64 characters of A-Z a-z 0-9 . _ @ -`)
}

/** Parses an address or range into the canonical text the store keeps. */
export function canonicalCidr(text: string): string {
  return checked(() => canonicalAllowedIp(text), (error) => `${error.message} (nothing changed)`)
}

export function roleArgument(text: string): AccountRole {
  return checked(() => validRole(text), () => `unknown role "${printable(text)}": the roles are ${ACCOUNT_ROLES.join(', ')}`)
}

/**
 * Opens the store, runs `work` with the administration service over it, and closes the store.
 * A value the service refuses (a weak password, an overlap too long) is a one-line error.
 */
export async function withAdministration<T>(context: CommandContext, work: (administration: AccountAdministration) => Promise<T>): Promise<T> {
  // Built on first use: reading an account must not fail over an argon2 setting it never needs.
  const hasher = { hash: (password: string) => passwordHasherFromEnv(context).hash(password) }
  const audit = cliAuditWriter(context)
  const passwordPolicy = passwordPolicyOption(context)
  try {
    return await auditedChange(() => withStore(context, (store) => work(new AccountAdministration({ store, hasher, audit, passwordPolicy }))))
  } catch (error) {
    if (error instanceof AccountInputError) throw new CliError(`${error.message} (nothing changed)`)
    throw error
  }
}

/** `--password-min-length` and `--password-min-classes` (every command that opens the store takes them). */
export function passwordPolicyOption(context: CommandContext): PasswordPolicy {
  const { passwordMinLength, passwordMinClasses } = SETTINGS
  const flags = {
    [passwordMinLength.flag]: stringOption(context, passwordMinLength.flag),
    [passwordMinClasses.flag]: stringOption(context, passwordMinClasses.flag),
  }
  try {
    const values = resolveSettings([passwordMinLength.key, passwordMinClasses.key], flags, context.io.env)
    return { minLength: values.passwordMinLength, minClasses: values.passwordMinClasses }
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message)
    throw error
  }
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 }

/** `90s`, `30m`, `24h`, `7d` as seconds; the service decides which durations it accepts. */
export function durationSeconds(option: string, text: string): number {
  const match = /^(\d{1,9})([smhd])$/.exec(text.trim())
  if (!match) throw new CliError(`--${option} takes a duration such as 30m, 24h or 7d, got "${printable(text, 40)}"`)
  return Number(match[1]) * DURATION_UNITS[match[2]!]!
}

/** When an account-wide revocation took effect, for messages. */
export function revokedBefore(validAfter: number): string {
  return new Date(validAfter * 1000).toISOString()
}

/**
 * The hasher for new passwords, with the argon2id parameters the server is configured with
 * (the `argon2.*` settings' environment variables), so a password set here is not re-hashed at
 * its first use.
 */
export function passwordHasherFromEnv(context: CommandContext): PasswordHasher {
  try {
    return new PasswordHasher(resolveArgon2({}, context.io.env))
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message)
    throw error
  }
}

/** The stable JSON form of an account. The password hash is never part of it. */
export interface AccountJson {
  id: string
  status: AccountView['status']
  allowedIps: string[]
  roles: AccountRole[]
  createdAt: string
  updatedAt: string
  /** Only during a password rotation. */
  previousPasswordValidUntil?: string
}

export function accountJson(account: AccountView): AccountJson {
  return {
    id: account.id,
    status: account.status,
    allowedIps: [...account.allowedIps],
    roles: [...account.roles],
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
    ...(account.previousPasswordValidUntil ? { previousPasswordValidUntil: account.previousPasswordValidUntil.toISOString() } : {}),
  }
}

export function accountText(account: AccountView): string[] {
  return [
    `id:          ${account.id}`,
    `status:      ${account.status}`,
    `allowed IPs: ${account.allowedIps.length ? account.allowedIps.join(', ') : '(none: token requests get 3000)'}`,
    `roles:       ${account.roles.length ? account.roles.join(', ') : '(none)'}`,
    `tokens:      ${account.tokensValidAfter ? `issued before ${new Date(account.tokensValidAfter * 1000).toISOString()} are revoked` : 'none revoked account-wide'}`,
    `created:     ${account.createdAt.toISOString()}`,
    `updated:     ${account.updatedAt.toISOString()}`,
    ...(account.previousPasswordValidUntil
      ? [`previous:    the previous password works until ${account.previousPasswordValidUntil.toISOString()} (end it with "bizauth account drop-previous-password ${account.id}")`]
      : []),
  ]
}

export function describeIps(ips: readonly string[]): string {
  return ips.length ? ips.join(', ') : 'none'
}
