/**
 * Account administration: every change an operator makes to an account, whoever asks (the CLI,
 * the admin API, the console). Each operation validates its input, runs in one store transaction
 * and returns what it changed, so that callers only parse, call and print, and the audit trail
 * can record exactly what happened.
 *
 * The rules that live here and nowhere else:
 * - when a change revokes tokens, and from which instant (`accountRevocation`);
 * - that a re-created account starts where its predecessor's revocations end;
 * - that an operator's password change or unlock clears a lockout;
 * - what a valid account id, allowed IP and role are (through account-id.ts and net/cidr.ts).
 *
 * Each change appends its audit event (issue 11 §1) inside its own transaction: a change never
 * lands without its event, and an event never without its change. The event is the returned
 * change itself, attributed to the writer the service was built with.
 *
 * Cache eviction needs no call from here: every change bumps the account's version in the same
 * statement, and every instance's credential cache compares it on each hit.
 *
 * Nothing here knows HTTP or argv. Secrets (passwords, hashes) never enter a returned change.
 */
import { InvalidAddressError, parseCidr } from '../net/cidr.js'
import {
  ACCOUNT_ROLES,
  AccountMissingError,
  type Account,
  type AccountPage,
  type AccountRevocation,
  type AccountRole,
  type AccountStatus,
  type AuditAction,
  type AuditWriter,
  type Store,
  type StoreTransaction,
} from '../store/store.js'
import { ACCOUNT_REVOCATION_RETENTION_SECONDS } from '../tokens/lifetime.js'
import { isValidAccountId } from './account-id.js'
import { exportAccounts, importAccounts, type ExportedAccount, type ImportOptions, type ImportReport } from './import.js'
import { DEFAULT_PASSWORD_POLICY, passwordShortcomings, type PasswordPolicy } from './password-policy.js'
import { generatePassword, type PasswordHasher } from './passwords.js'

/** A value an operator gave that no account may hold; `field` names it for the caller's message. */
export class AccountInputError extends Error {
  override readonly name = 'AccountInputError'
  constructor(
    readonly field: 'id' | 'allowed_ips' | 'roles' | 'status' | 'password' | 'keep_previous_for',
    message: string,
  ) {
    super(message)
  }
}

/** `denyIp` of an entry the account does not list: the address may still be allowed through a range. */
export class AllowedIpNotListedError extends Error {
  override readonly name = 'AllowedIpNotListedError'
  constructor(
    readonly accountId: string,
    readonly cidr: string,
    readonly allowedIps: readonly string[],
  ) {
    super(`${cidr} is not an allowed IP of ${accountId}`)
  }
}

/** A compare-and-set: the change applies only while the account is still at `expectedVersion`. */
export interface ChangeOptions {
  expectedVersion?: number
}

/** The account moved past the version the caller read (another operator changed it meanwhile). */
export class AccountVersionMismatchError extends Error {
  override readonly name = 'AccountVersionMismatchError'
  constructor(
    readonly accountId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(`account "${accountId}" is at version ${actualVersion}, not ${expectedVersion}`)
  }
}

export type AccountAction = Extract<AuditAction, `account.${string}`>

/** An account as it may be shown anywhere: never its password hash. */
export interface AccountView {
  id: string
  status: AccountStatus
  allowedIps: string[]
  roles: AccountRole[]
  /** Tokens issued before this instant (epoch seconds) are revoked; 0: none. */
  tokensValidAfter: number
  version: number
  createdAt: Date
  updatedAt: Date
  /** During a password rotation: until when the previous password still works. */
  previousPasswordValidUntil: Date | undefined
}

/** Non-secret fields whose before/after a change reports. A password change reports only that it changed. */
export type ChangedField = 'status' | 'allowed_ips' | 'roles' | 'tokens_valid_after' | 'password' | 'lockout' | 'previous_password_until'

export interface AccountChange {
  action: AccountAction
  accountId: string
  before: AccountView | undefined
  after: AccountView | undefined
  /** `{field: [before, after]}` for what differs; `password: [false, true]` means "it changed". */
  changes: Partial<Record<ChangedField, [unknown, unknown]>>
  /** The account-wide revocation the change caused, if any. */
  revocation: AccountRevocation | undefined
}

export interface CreatedAccount extends AccountChange {
  /** The generated password, when none was given: shown once by the caller, never stored or logged. */
  generatedPassword: string | undefined
}

export interface AdministrationDeps {
  store: Store
  /** Hashes new passwords with the configured argon2id parameters. */
  hasher: Pick<PasswordHasher, 'hash'>
  /** Who makes the changes (the CLI's OS user, an admin account) and the trail's seal. */
  audit: AuditWriter
  /** What a given password must meet (default: 10 characters of two classes). */
  passwordPolicy?: PasswordPolicy
  now?: () => number
}

/** The longest overlap of two passwords during a rotation (issue 12 §2). */
export const MAX_KEEP_PREVIOUS_SECONDS = 7 * 24 * 60 * 60

export interface SetPasswordOptions {
  /** The password being replaced keeps working this long (1 s to 7 days), and earlier tokens stay valid. */
  keepPreviousForSeconds?: number
}

/**
 * An account-wide revocation takes effect at the next whole second: tokens issued before it are
 * revoked, a token issued in that second gets `iat = validAfter` and stays valid
 * (docs/wire.md, "revocations"). The store moves it further when an earlier revocation already
 * reached that second. The event is kept until the last affected token expired.
 */
export function accountRevocation(nowMs: number): AccountRevocation {
  const validAfter = Math.floor(nowMs / 1000) + 1
  return { validAfter, expiresAt: validAfter + ACCOUNT_REVOCATION_RETENTION_SECONDS }
}

export function accountView(account: Account): AccountView {
  return {
    id: account.id,
    status: account.status,
    allowedIps: [...account.allowedIps],
    roles: [...account.roles],
    tokensValidAfter: account.tokensValidAfter,
    version: account.version,
    createdAt: account.createdAt,
    updatedAt: account.updatedAt,
    previousPasswordValidUntil: account.previousPassword?.validUntil,
  }
}

/** Checks an account id at the edge of every operation. */
export function validAccountId(id: string): string {
  if (!isValidAccountId(id)) throw new AccountInputError('id', 'an account id is 1-64 characters of A-Z a-z 0-9 . _ @ -')
  return id
}

/** An address or range in the canonical text the store keeps (`203.0.113.7/32`). */
export function canonicalAllowedIp(text: string): string {
  try {
    return parseCidr(text).text
  } catch (error) {
    if (error instanceof InvalidAddressError) throw new AccountInputError('allowed_ips', error.message)
    throw error
  }
}

export function validRole(text: string): AccountRole {
  const role = ACCOUNT_ROLES.find((known) => known === text)
  if (!role) throw new AccountInputError('roles', `unknown role; the roles are ${ACCOUNT_ROLES.join(', ')}`)
  return role
}

export interface NewAccountInput {
  id: string
  allowedIps?: readonly string[]
  roles?: readonly string[]
  status?: AccountStatus
  /** Without one, a strong password is generated and returned once. */
  password?: string
}

export class AccountAdministration {
  readonly #deps: AdministrationDeps
  readonly #now: () => number

  constructor(deps: AdministrationDeps) {
    this.#deps = deps
    this.#now = deps.now ?? Date.now
  }

  async exists(id: string): Promise<boolean> {
    return (await this.#deps.store.getAccount(validAccountId(id))) !== undefined
  }

  async show(id: string): Promise<AccountView> {
    const account = await this.#deps.store.getAccount(validAccountId(id))
    if (!account) throw new AccountMissingError(id)
    return accountView(account)
  }

  async list(page: AccountPage = {}): Promise<AccountView[]> {
    return (await this.#deps.store.listAccounts(page)).map(accountView)
  }

  async create(input: NewAccountInput): Promise<CreatedAccount> {
    const id = validAccountId(input.id)
    const allowedIps = [...new Set((input.allowedIps ?? []).map(canonicalAllowedIp))]
    const roles = [...new Set((input.roles ?? []).map(validRole))]
    if (input.password !== undefined) this.#requireCompliant(input.password)
    const generatedPassword = input.password === undefined ? generatePassword(this.#policy) : undefined
    const passwordHash = await this.#deps.hasher.hash(input.password ?? generatedPassword!)
    const change = await this.#deps.store.transaction(async (tx) => {
      // A predecessor under the same id may have been deleted a moment ago, its revocation still
      // in the feed: starting there keeps the new account's tokens clear of it (issue 13 §5).
      const tokensValidAfter = await tx.accountRevokedBefore(id)
      const account = await tx.createAccount({ id, passwordHash, allowedIps, roles, status: input.status, tokensValidAfter })
      return this.#recorded(tx, describe('account.create', undefined, account, undefined))
    })
    return { ...change, generatedPassword }
  }

  /**
   * Sets (or generates) a password; a lockout is cleared. Earlier tokens are revoked, unless the
   * previous password is kept for a while (`keepPreviousForSeconds`): a rotation without
   * downtime, where both passwords and the tokens issued so far stay valid.
   */
  async setPassword(id: string, password: string | undefined, options: SetPasswordOptions = {}): Promise<CreatedAccount> {
    validAccountId(id)
    const keepPreviousUntil = this.#keepPreviousUntil(options.keepPreviousForSeconds)
    if (password !== undefined) this.#requireCompliant(password)
    const generatedPassword = password === undefined ? generatePassword(this.#policy) : undefined
    const passwordHash = await this.#deps.hasher.hash(password ?? generatedPassword!)
    const change = await this.#change(
      id,
      'account.set_password',
      (tx, revoke) => tx.setPasswordHash(id, passwordHash, keepPreviousUntil === undefined ? { revoke, clearLockout: true } : { keepPreviousUntil, clearLockout: true }),
      { revokes: keepPreviousUntil === undefined },
    )
    return { ...change, generatedPassword }
  }

  /** Ends a rotation early: the previous password stops working on every instance at once. */
  dropPreviousPassword(id: string): Promise<AccountChange> {
    return this.#change(id, 'account.drop_previous_password', (tx) => tx.dropPreviousPassword(id))
  }

  /** Bulk import of JSON lines with their existing hashes, all or nothing (accounts/import.ts). */
  importAccounts(lines: AsyncIterable<string>, options: ImportOptions): Promise<ImportReport> {
    const { context, seal } = this.#deps.audit
    // One event for the whole import, in its transaction: who imported how many accounts, and a
    // digest of exactly which, so an auditor can check it against the file.
    return importAccounts(this.#deps.store, lines, {
      ...options,
      record: (tx, report, idsSha256) =>
        tx
          .appendAuditEvent(
            { ...context, action: 'account.import', target: 'import', changes: { created: [0, report.created], updated: [0, report.updated], ids_sha256: [null, idsSha256] } },
            seal,
          )
          .then(() => undefined),
    })
  }

  /** Every account as an import line, streamed a page at a time (accounts/import.ts). */
  exportAccounts(options: { includeHashes: boolean }): AsyncGenerator<ExportedAccount> {
    return exportAccounts(this.#deps.store, options)
  }

  get #policy(): PasswordPolicy {
    return this.#deps.passwordPolicy ?? DEFAULT_PASSWORD_POLICY
  }

  /** The password policy, for every password an operator gives (issue 12 §3). */
  #requireCompliant(password: string): void {
    const shortcomings = passwordShortcomings(this.#policy, password)
    if (shortcomings.length > 0) throw new AccountInputError('password', `the password is too weak: ${shortcomings.join('; ')}`)
  }

  #keepPreviousUntil(seconds: number | undefined): number | undefined {
    if (seconds === undefined) return undefined
    if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_KEEP_PREVIOUS_SECONDS) {
      throw new AccountInputError('keep_previous_for', `the previous password may be kept from 1 second to 7 days (${MAX_KEEP_PREVIOUS_SECONDS} s)`)
    }
    return this.#now() + seconds * 1000
  }

  /** Token requests get 3009 and every earlier token is revoked. */
  suspend(id: string, options: ChangeOptions = {}): Promise<AccountChange> {
    return this.#change(id, 'account.suspend', (tx, revoke) => tx.setStatus(id, 'suspended', { revoke }), { ...options, revokes: true })
  }

  /** Active again; tokens revoked earlier stay revoked. */
  resume(id: string, options: ChangeOptions = {}): Promise<AccountChange> {
    return this.#change(id, 'account.resume', (tx) => tx.setStatus(id, 'active'), options)
  }

  allowIp(id: string, cidrText: string, options: ChangeOptions = {}): Promise<AccountChange> {
    const cidr = canonicalAllowedIp(cidrText)
    return this.#change(id, 'account.allow_ip', (tx) => tx.addAllowedIp(id, cidr), options)
  }

  /**
   * Removing an entry that is not listed is an error, not a no-op: `deny-ip acme 10.0.0.7` while
   * 10.0.0.0/24 is allowed leaves 10.0.0.7 allowed, and the operator must learn that.
   */
  denyIp(id: string, cidrText: string, options: ChangeOptions = {}): Promise<AccountChange> {
    const cidr = canonicalAllowedIp(cidrText)
    return this.#change(
      id,
      'account.deny_ip',
      async (tx) => {
        const { account, removed } = await tx.removeAllowedIp(id, cidr)
        if (!removed) throw new AllowedIpNotListedError(id, cidr, account.allowedIps)
        return account
      },
      options,
    )
  }

  grantRole(id: string, roleText: string, options: ChangeOptions = {}): Promise<AccountChange> {
    const role = validRole(roleText)
    return this.#change(id, 'account.grant_role', (tx) => tx.grantRole(id, role), options)
  }

  /** Not holding the role is the state asked for, so it succeeds even when the role was not held. */
  revokeRole(id: string, roleText: string, options: ChangeOptions = {}): Promise<AccountChange> {
    const role = validRole(roleText)
    return this.#change(id, 'account.revoke_role', (tx) => tx.revokeRole(id, role), options)
  }

  /**
   * Clears a lockout on every instance at once: the lockout count is keyed by the account's
   * lockout generation, which this moves on. A password change does the same.
   */
  unlock(id: string): Promise<AccountChange> {
    return this.#change(id, 'account.unlock', (tx) => tx.clearLockout(id))
  }

  /** Every token issued so far is revoked; the account may request new ones. */
  revokeTokens(id: string): Promise<AccountChange> {
    return this.#change(id, 'account.revoke_tokens', (tx, revoke) => tx.revokeAccountTokens(id, revoke.validAfter, revoke.expiresAt), { revokes: true })
  }

  /**
   * Revokes, then deletes, in one transaction: the feed tells every server and offline verifier,
   * which would otherwise keep accepting the deleted account's cached tokens until they expire.
   */
  async delete(id: string): Promise<AccountChange> {
    validAccountId(id)
    const asked = accountRevocation(this.#now())
    const change = await this.#deps.store.transaction(async (tx) => {
      const before = await tx.getAccount(id)
      if (!before) throw new AccountMissingError(id)
      const revoked = await tx.revokeAccountTokens(id, asked.validAfter, asked.expiresAt)
      await tx.deleteAccount(id)
      return this.#recorded(tx, describe('account.delete', before, undefined, revocationInForce(asked, revoked)))
    })
    return change
  }

  /**
   * Runs one change in a transaction: reads the account (locked), applies `apply`, and describes
   * the difference. `revokes` says whether the change revokes earlier tokens.
   */
  async #change(
    id: string,
    action: AccountAction,
    apply: (tx: StoreTransaction, revocation: AccountRevocation) => Promise<Account>,
    options: ChangeOptions & { revokes?: boolean } = {},
  ): Promise<AccountChange> {
    validAccountId(id)
    const revocation = accountRevocation(this.#now())
    const change = await this.#deps.store.transaction(async (tx) => {
      const before = await tx.getAccount(id)
      if (!before) throw new AccountMissingError(id)
      if (options.expectedVersion !== undefined && before.version !== options.expectedVersion) {
        throw new AccountVersionMismatchError(id, options.expectedVersion, before.version)
      }
      const after = await apply(tx, revocation)
      return this.#recorded(tx, describe(action, before, after, options.revokes ? revocationInForce(revocation, after) : undefined))
    })
    return change
  }

  /** Appends the change's audit event in the change's transaction. */
  async #recorded<C extends AccountChange>(tx: StoreTransaction, change: C): Promise<C> {
    const { context, seal } = this.#deps.audit
    await tx.appendAuditEvent({ ...context, action: change.action, target: change.accountId, changes: change.changes }, seal)
    return change
  }
}

/** The instant now in force, which the store may have moved past the one asked for. */
function revocationInForce(asked: AccountRevocation, revoked: Account): AccountRevocation {
  const validAfter = revoked.tokensValidAfter
  return { validAfter, expiresAt: asked.expiresAt + (validAfter - asked.validAfter) }
}

function describe(action: AccountAction, before: Account | undefined, after: Account | undefined, revocation: AccountRevocation | undefined): AccountChange {
  const changes: AccountChange['changes'] = {}
  const compare = (field: ChangedField, read: (account: Account) => unknown): void => {
    const was = before && read(before)
    const is = after && read(after)
    if (JSON.stringify(was) !== JSON.stringify(is)) changes[field] = [was ?? null, is ?? null]
  }
  compare('status', (a) => a.status)
  compare('allowed_ips', (a) => a.allowedIps)
  compare('roles', (a) => a.roles)
  compare('tokens_valid_after', (a) => a.tokensValidAfter)
  compare('lockout', (a) => a.lockoutGeneration)
  compare('previous_password_until', (a) => a.previousPassword?.validUntil.toISOString())
  if (before && after && before.passwordHash !== after.passwordHash) changes.password = [false, true]
  return {
    action,
    accountId: (after ?? before)!.id,
    before: before && accountView(before),
    after: after && accountView(after),
    changes,
    revocation,
  }
}
