/**
 * Accounts. Every write bumps `version` and `updated_at` in the same UPDATE, because the
 * credential cache of every instance compares versions on each hit (issue 3): a change made by
 * the CLI in another process is seen on the next request.
 */
import type { Kysely } from 'kysely'
import type { DialectBinding } from './binding.js'
import { ACCOUNT_REVOCATION_RETENTION_SECONDS } from '../tokens/lifetime.js'
import { appendRevocationEvent } from './revocations.js'
import { toAccount } from './rows.js'
import { ACCOUNT_COLUMNS, type AccountRow, type AccountsTable, type Database } from './schema.js'
import { AccountExistsError, AccountMissingError, type Account, type NewAccount, type Store } from './store.js'

export type AccountOperations = Pick<
  Store,
  | 'createAccount'
  | 'getAccount'
  | 'listAccounts'
  | 'countAccounts'
  | 'setPasswordHash'
  | 'upgradePasswordHash'
  | 'setStatus'
  | 'addAllowedIp'
  | 'removeAllowedIp'
  | 'grantRole'
  | 'revokeRole'
  | 'revokeAccountTokens'
  | 'deleteAccount'
>

/** How long an account-wide revocation made by setPasswordHash/setStatus stays in the feed. */
export { ACCOUNT_REVOCATION_RETENTION_SECONDS }

/** Bounds the compare-and-set retries of the allowed-IP and role lists. */
const MAX_LIST_UPDATE_ATTEMPTS = 100

type AccountChange = Partial<Pick<AccountsTable, 'password_hash' | 'status' | 'allowed_ips' | 'roles'>>

export function accountOperations(binding: DialectBinding): AccountOperations {
  const { db } = binding

  async function mustFindAccount(id: string): Promise<AccountRow> {
    const row = await binding.findAccountRow(id)
    if (!row) throw new AccountMissingError(id)
    return row
  }

  /** One UPDATE applying `change`, bumping version and updated_at; undefined when no row matched. */
  function updateAccount(
    executor: Kysely<Database>,
    id: string,
    change: AccountChange,
    condition: { expectedVersion?: number; validAfter?: number } = {},
  ): Promise<AccountRow | undefined> {
    const { expectedVersion, validAfter } = condition
    let update = executor
      .updateTable('accounts')
      .set((eb) => ({
        ...change,
        ...(validAfter === undefined
          ? {}
          : {
              // Never backwards: a later call with an earlier instant must not un-revoke tokens.
              tokens_valid_after: eb
                .case()
                .when('tokens_valid_after', '<', validAfter)
                .then(validAfter)
                .else(eb.ref('tokens_valid_after'))
                .end(),
            }),
        version: eb('version', '+', 1),
        updated_at: Date.now(),
      }))
      .where('id', '=', id)
    if (expectedVersion !== undefined) update = update.where('version', '=', expectedVersion)
    return update.returning(ACCOUNT_COLUMNS).executeTakeFirst()
  }

  /**
   * Read, compute, write only if `version` is unchanged, else start over. Two CLI processes
   * adding different IPs at once therefore both land, on either dialect, with no lock held
   * across the read. `compute` returns undefined for a no-op, which writes (and bumps) nothing.
   */
  async function updateAccountLists(
    id: string,
    compute: (current: Account) => AccountChange | undefined,
  ): Promise<{ account: Account; changed: boolean }> {
    for (let attempt = 0; attempt < MAX_LIST_UPDATE_ATTEMPTS; attempt++) {
      const row = await mustFindAccount(id)
      const current = toAccount(row)
      const change = compute(current)
      if (!change) return { account: current, changed: false }
      const updated = await updateAccount(db, id, change, { expectedVersion: row.version })
      if (updated) return { account: toAccount(updated), changed: true }
    }
    throw new Error(`account "${id}" kept changing; gave up after ${MAX_LIST_UPDATE_ATTEMPTS} attempts`)
  }

  /** The account update and its 'account' feed event commit together or not at all. */
  function updateAndRevoke(id: string, change: AccountChange, validAfter: number, expiresAt: number): Promise<Account> {
    return db.transaction().execute(async (trx) => {
      const row = await updateAccount(trx, id, change, { validAfter })
      if (!row) throw new AccountMissingError(id)
      // The feed carries the instant now in force, which may be later than `validAfter`.
      await appendRevocationEvent(binding, trx, {
        kind: 'account',
        subject: id,
        at: row.tokens_valid_after,
        expires_at: expiresAt,
      })
      return toAccount(row)
    })
  }

  async function changeAccount(id: string, change: AccountChange, revokeTokensAt: number | undefined) {
    if (revokeTokensAt !== undefined) {
      return updateAndRevoke(id, change, revokeTokensAt, revokeTokensAt + ACCOUNT_REVOCATION_RETENTION_SECONDS)
    }
    const row = await updateAccount(db, id, change)
    if (!row) throw new AccountMissingError(id)
    return toAccount(row)
  }

  return {
    async createAccount(account: NewAccount) {
      const now = Date.now()
      const row = await db
        .insertInto('accounts')
        .values({
          id: account.id,
          password_hash: account.passwordHash,
          status: account.status ?? 'active',
          allowed_ips: JSON.stringify(withoutDuplicates(account.allowedIps ?? [])),
          roles: JSON.stringify(withoutDuplicates(account.roles ?? [])),
          version: 1,
          tokens_valid_after: 0,
          created_at: now,
          updated_at: now,
          lockout_generation: 0,
        })
        // No row back means the id was taken; ON CONFLICT keeps a PostgreSQL transaction usable.
        .onConflict((oc) => oc.column('id').doNothing())
        .returning(ACCOUNT_COLUMNS)
        .executeTakeFirst()
      if (!row) throw new AccountExistsError(account.id)
      return toAccount(row)
    },

    async getAccount(id) {
      const row = await binding.findAccountRow(id)
      return row && toAccount(row)
    },

    async listAccounts() {
      const rows = await db.selectFrom('accounts').select(ACCOUNT_COLUMNS).orderBy('id').execute()
      return rows.map(toAccount)
    },

    async countAccounts() {
      const { count } = await db
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .executeTakeFirstOrThrow()
      return Number(count)
    },

    setPasswordHash: (id, passwordHash, options) => changeAccount(id, { password_hash: passwordHash }, options?.revokeTokensAt),

    async upgradePasswordHash(id, expectedHash, newHash) {
      const result = await db
        .updateTable('accounts')
        .set((eb) => ({ password_hash: newHash, version: eb('version', '+', 1), updated_at: Date.now() }))
        .where('id', '=', id)
        .where('password_hash', '=', expectedHash)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    setStatus: (id, status, options) => changeAccount(id, { status }, options?.revokeTokensAt),

    async addAllowedIp(id, cidr) {
      const { account } = await updateAccountLists(id, (current) =>
        current.allowedIps.includes(cidr) ? undefined : { allowed_ips: JSON.stringify([...current.allowedIps, cidr]) },
      )
      return account
    },

    async removeAllowedIp(id, cidr) {
      const { account, changed } = await updateAccountLists(id, (current) =>
        current.allowedIps.includes(cidr)
          ? { allowed_ips: JSON.stringify(current.allowedIps.filter((ip) => ip !== cidr)) }
          : undefined,
      )
      return { account, removed: changed }
    },

    async grantRole(id, role) {
      const { account } = await updateAccountLists(id, (current) =>
        current.roles.includes(role) ? undefined : { roles: JSON.stringify([...current.roles, role]) },
      )
      return account
    },

    async revokeRole(id, role) {
      const { account } = await updateAccountLists(id, (current) =>
        current.roles.includes(role) ? { roles: JSON.stringify(current.roles.filter((r) => r !== role)) } : undefined,
      )
      return account
    },

    revokeAccountTokens: (id, validAfter, expiresAt) => updateAndRevoke(id, {}, validAfter, expiresAt),

    async deleteAccount(id) {
      const result = await db.deleteFrom('accounts').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },
  }
}

function withoutDuplicates<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}
