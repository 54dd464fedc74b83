/**
 * What the account sub-commands share: checking their arguments at the edge, the password
 * hasher they hash with, the token-revocation instant, and how an account is shown.
 */
import { isValidAccountId } from '../../../accounts/account-id.js'
import { PasswordHasher } from '../../../accounts/passwords.js'
import { ARGON2_SETTINGS, ConfigError, resolveServerConfig } from '../../../config.js'
import { InvalidAddressError, parseCidr } from '../../../net/cidr.js'
import { ACCOUNT_ROLES, type Account, type AccountRole } from '../../../store/store.js'
import { ACCOUNT_REVOCATION_RETENTION_SECONDS } from '../../../tokens/lifetime.js'
import type { CommandContext, OptionSpec, PositionalSpec } from '../../command.js'
import { CliError, printable } from '../../errors.js'

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
  description: `A role: ${ACCOUNT_ROLES.join(', ')} (introspect: may call /v1/token/introspect and read the revocation feed).`,
}

export const PASSWORD_STDIN_OPTION: OptionSpec = {
  type: 'boolean',
  description: 'Read the password from the first line of stdin (passwords are never taken from arguments).',
}

export const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'Print JSON instead of text.' }

export function accountIdArgument(context: CommandContext): string {
  const id = context.args.ID ?? ''
  if (!isValidAccountId(id)) {
    throw new CliError(`invalid account id "${printable(id)}": use 1-64 characters of A-Z a-z 0-9 . _ @ -`)
  }
  return id
}

/** Parses an address or range into the canonical text the store keeps. */
export function canonicalCidr(text: string): string {
  try {
    return parseCidr(text).text
  } catch (error) {
    if (error instanceof InvalidAddressError) throw new CliError(`${error.message} (nothing changed)`)
    throw error
  }
}

export function roleArgument(text: string): AccountRole {
  const role = ACCOUNT_ROLES.find((known) => known === text)
  if (!role) throw new CliError(`unknown role "${printable(text)}": the roles are ${ACCOUNT_ROLES.join(', ')}`)
  return role
}

/**
 * The hasher for new passwords, with the argon2id parameters the server is configured with
 * (BIZAUTH_ARGON2_*), so a password set here is not re-hashed at its first use.
 */
export function passwordHasherFromEnv(context: CommandContext): PasswordHasher {
  const argon2Env: Record<string, string | undefined> = {}
  for (const spec of ARGON2_SETTINGS) argon2Env[spec.env] = context.io.env[spec.env]
  try {
    return new PasswordHasher(resolveServerConfig({}, argon2Env).argon2)
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message)
    throw error
  }
}

/**
 * An account-wide revocation takes effect at the next whole second: tokens issued before it
 * are revoked, a token issued in that second gets `iat = validAfter` and stays valid
 * (docs/wire.md, "revocations"). The event is kept until the last affected token expired.
 */
export function tokenRevocationInstant(now = Date.now()): { validAfter: number; expiresAt: number } {
  const validAfter = Math.floor(now / 1000) + 1
  return { validAfter, expiresAt: validAfter + ACCOUNT_REVOCATION_RETENTION_SECONDS }
}

/** The stable JSON form of an account. The password hash is never part of it. */
export interface AccountJson {
  id: string
  status: Account['status']
  allowedIps: string[]
  roles: AccountRole[]
  createdAt: string
  updatedAt: string
}

export function accountJson(account: Account): AccountJson {
  return {
    id: account.id,
    status: account.status,
    allowedIps: [...account.allowedIps],
    roles: [...account.roles],
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  }
}

export function accountText(account: Account): string[] {
  return [
    `id:          ${account.id}`,
    `status:      ${account.status}`,
    `allowed IPs: ${account.allowedIps.length ? account.allowedIps.join(', ') : '(none: token requests get 3000)'}`,
    `roles:       ${account.roles.length ? account.roles.join(', ') : '(none)'}`,
    `tokens:      ${account.tokensValidAfter ? `issued before ${new Date(account.tokensValidAfter * 1000).toISOString()} are revoked` : 'none revoked account-wide'}`,
    `created:     ${account.createdAt.toISOString()}`,
    `updated:     ${account.updatedAt.toISOString()}`,
  ]
}

export function describeIps(ips: readonly string[]): string {
  return ips.length ? ips.join(', ') : 'none'
}
