/**
 * Accounts. Every write bumps `version` and `updated_at` in the same UPDATE, because the
 * credential cache of every instance compares versions on each hit (issue 3): a change made by
 * the CLI in another process is seen on the next request.
 *
 * The operations are written over an executor: the database itself, or a transaction opened by
 * `Store.transaction`, so that the administration service can make several changes (and, later,
 * their audit events) commit together. Inside a transaction every read goes through that
 * transaction, never the dialect's separate hot-path reader, so a change sees its own writes.
 *
 * Every write also announces `{kind: 'account', id}` in its transaction (Store.onChange), so
 * instances evict their cached credentials for it at once rather than on the next hit.
 */
import { sql, type Kysely } from 'kysely'
import { announcing, atomically } from './atomically.js'
import type { DialectBinding } from './binding.js'
import { appendRevocationEvent } from './revocations.js'
import { toAccount } from './rows.js'
import { ACCOUNT_COLUMNS, type AccountRow, type AccountsTable, type Database } from './schema.js'
import {
  AccountExistsError,
  AccountMissingError,
  type Account,
  type AccountChangeOperation,
  type ImportedAccount,
  type ImportedBatch,
  type NewAccount,
  type Store,
  type StoreChange,
} from './store.js'

export type AccountOperations = Pick<Store, AccountChangeOperation | 'listAccounts' | 'countAccounts' | 'upgradePasswordHash'>

/** Bounds the compare-and-set retries of the allowed-IP and role lists. */
const MAX_LIST_UPDATE_ATTEMPTS = 100

type AccountChange = Partial<Pick<AccountsTable, 'password_hash' | 'status' | 'allowed_ips' | 'roles' | 'previous_password_hash' | 'previous_password_until'>>

/** The columns of a password rotation when no previous password is kept. */
const NO_PREVIOUS_PASSWORD = { previous_password_hash: null, previous_password_until: null } as const satisfies AccountChange

/** The announcement of a write to one account, made only when a row was written. */
const accountChange =
  (id: string) =>
  (written: unknown): StoreChange | undefined =>
    written ? { kind: 'account', id } : undefined

interface Revocation {
  validAfter: number
  expiresAt: number
}

export function accountOperations(binding: DialectBinding, executor: Kysely<Database> = binding.db): AccountOperations {
  const inTransaction = executor.isTransaction

  async function findAccountRow(id: string): Promise<AccountRow | undefined> {
    if (!inTransaction) return binding.findAccountRow(id)
    const query = executor.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('id', '=', id)
    // PostgreSQL: hold the row until commit, so a read-compute-write in the transaction cannot
    // lose a concurrent change. SQLite needs nothing: BEGIN IMMEDIATE already holds the write lock.
    return (binding.dialect === 'postgres' ? query.forUpdate() : query).executeTakeFirst()
  }

  async function mustFindAccount(id: string): Promise<AccountRow> {
    const row = await findAccountRow(id)
    if (!row) throw new AccountMissingError(id)
    return row
  }

  /** One UPDATE applying `change`, bumping version and updated_at; undefined when no row matched. */
  function updateAccount(
    on: Kysely<Database>,
    id: string,
    change: AccountChange,
    condition: { expectedVersion?: number; validAfter?: number; clearLockout?: boolean; keepPreviousUntil?: number } = {},
  ): Promise<AccountRow | undefined> {
    const { expectedVersion, validAfter, clearLockout, keepPreviousUntil } = condition
    return announcing(binding, on, accountChange(id), (trx) => {
      let update = trx
        .updateTable('accounts')
        .set((eb) => ({
          ...change,
          ...(validAfter === undefined
            ? {}
            : {
                // Each revocation moves the instant strictly forward, past every `iat` already
                // handed out: a token issued in the second after an earlier revocation carries
                // iat = that instant, and a second revocation in the same second must still reach
                // it. Never backwards, so a late call with an earlier instant un-revokes nothing.
                tokens_valid_after: eb
                  .case()
                  .when('tokens_valid_after', '<', validAfter)
                  .then(validAfter)
                  .else(eb('tokens_valid_after', '+', 1))
                  .end(),
              }),
          // Lockout counters are keyed by this generation, so a new one starts every instance's
          // count afresh (limits/limits.ts) without reaching into their memory.
          ...(clearLockout ? { lockout_generation: eb('lockout_generation', '+', 1) } : {}),
          // The hash being replaced, read in the same statement (SET sees the row before it).
          ...(keepPreviousUntil === undefined ? {} : { previous_password_hash: eb.ref('password_hash'), previous_password_until: keepPreviousUntil }),
          version: eb('version', '+', 1),
          updated_at: Date.now(),
        }))
        .where('id', '=', id)
      if (expectedVersion !== undefined) update = update.where('version', '=', expectedVersion)
      return update.returning(ACCOUNT_COLUMNS).executeTakeFirst()
    })
  }

  /**
   * Read, compute, write only if `version` is unchanged, else start over. Two CLI processes
   * adding different IPs at once therefore both land, on either dialect, with no lock held
   * across the read (inside a transaction the row lock makes the first attempt succeed).
   * `compute` returns undefined for a no-op, which writes (and bumps) nothing.
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
      const updated = await updateAccount(executor, id, change, { expectedVersion: row.version })
      if (updated) return { account: toAccount(updated), changed: true }
    }
    throw new Error(`account "${id}" kept changing; gave up after ${MAX_LIST_UPDATE_ATTEMPTS} attempts`)
  }

  /** The account update and its 'account' feed event commit together or not at all. */
  function updateAndRevoke(id: string, change: AccountChange, revocation: Revocation, clearLockout = false): Promise<Account> {
    return atomically(executor, async (trx) => {
      const row = await updateAccount(trx, id, change, { validAfter: revocation.validAfter, clearLockout })
      if (!row) throw new AccountMissingError(id)
      // The feed carries the instant now in force, which may be later than the one asked for.
      await appendRevocationEvent(binding, trx, {
        kind: 'account',
        subject: id,
        at: row.tokens_valid_after,
        // Kept as long past that instant as asked: the last token it affects, plus skew.
        expires_at: revocation.expiresAt + (row.tokens_valid_after - revocation.validAfter),
      })
      return toAccount(row)
    })
  }

  async function changeAccount(
    id: string,
    change: AccountChange,
    revocation: Revocation | undefined,
    clearLockout = false,
    keepPreviousUntil?: number,
  ): Promise<Account> {
    if (revocation !== undefined) return updateAndRevoke(id, change, revocation, clearLockout)
    const row = await updateAccount(executor, id, change, { clearLockout, keepPreviousUntil })
    if (!row) throw new AccountMissingError(id)
    return toAccount(row)
  }

  return {
    async createAccount(account: NewAccount) {
      const now = Date.now()
      const row = await announcing(binding, executor, accountChange(account.id), (on) =>
          on
          .insertInto('accounts')
          .values({
            id: account.id,
            password_hash: account.passwordHash,
            status: account.status ?? 'active',
            allowed_ips: JSON.stringify(withoutDuplicates(account.allowedIps ?? [])),
            roles: JSON.stringify(withoutDuplicates(account.roles ?? [])),
            version: 1,
            tokens_valid_after: account.tokensValidAfter ?? 0,
            created_at: now,
            updated_at: now,
            lockout_generation: 0,
          })
          // No row back means the id was taken; ON CONFLICT keeps a PostgreSQL transaction usable.
          .onConflict((oc) => oc.column('id').doNothing())
          .returning(ACCOUNT_COLUMNS)
          .executeTakeFirst(),
      )
      if (!row) throw new AccountExistsError(account.id)
      return toAccount(row)
    },

    async getAccount(id) {
      const row = await findAccountRow(id)
      return row && toAccount(row)
    },

    async listAccounts(page = {}) {
      let query = executor.selectFrom('accounts').select(ACCOUNT_COLUMNS).orderBy('id')
      if (page.after !== undefined) query = query.where('id', '>', page.after)
      // substr, not LIKE: no wildcard escaping, and no dependence on the database's collation.
      if (page.idPrefix) query = query.where((eb) => eb(eb.fn('substr', ['id', sql.lit(1), sql.lit(page.idPrefix!.length)]), '=', page.idPrefix!))
      if (page.status !== undefined) query = query.where('status', '=', page.status)
      if (page.limit !== undefined) query = query.limit(page.limit)
      const rows = await query.execute()
      return rows.map(toAccount)
    },

    async countAccounts() {
      const { count } = await executor
        .selectFrom('accounts')
        .select((eb) => eb.fn.countAll<number | string>().as('count'))
        .executeTakeFirstOrThrow()
      return Number(count)
    },

    setPasswordHash(id, passwordHash, options = {}) {
      const { revoke, clearLockout, keepPreviousUntil } = options
      // Keeping the previous password is the zero-downtime rotation: nothing to revoke then.
      if (keepPreviousUntil !== undefined) return changeAccount(id, { password_hash: passwordHash }, undefined, clearLockout, keepPreviousUntil)
      return changeAccount(id, { password_hash: passwordHash, ...NO_PREVIOUS_PASSWORD }, revoke, clearLockout)
    },

    dropPreviousPassword: (id) => changeAccount(id, NO_PREVIOUS_PASSWORD, undefined),

    importAccounts: (accounts, onExisting) =>
      announcing(
        binding,
        executor,
        // A batch names up to a thousand ids: more than a notification's 8000 bytes may carry.
        (batch): StoreChange | undefined => (batch.created.length + batch.updated.length > 0 ? { kind: 'accounts' } : undefined),
        (on) => importAccountBatch(on, accounts, onExisting),
      ),

    async upgradePasswordHash(id, expectedHash, newHash) {
      return announcing(binding, executor, accountChange(id), async (on) => {
        const result = await on
          .updateTable('accounts')
          .set((eb) => ({ password_hash: newHash, version: eb('version', '+', 1), updated_at: Date.now() }))
          .where('id', '=', id)
          .where('password_hash', '=', expectedHash)
          .executeTakeFirst()
        return result.numUpdatedRows > 0n
      })
    },

    setStatus: (id, status, options) => changeAccount(id, { status }, options?.revoke),

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

    revokeAccountTokens: (id, validAfter, expiresAt) => updateAndRevoke(id, {}, { validAfter, expiresAt }),

    clearLockout: (id) => changeAccount(id, {}, undefined, true),

    async deleteAccount(id) {
      return announcing(binding, executor, accountChange(id), async (on) => {
        const result = await on.deleteFrom('accounts').where('id', '=', id).executeTakeFirst()
        return result.numDeletedRows > 0n
      })
    },

    async accountRevokedBefore(id) {
      const row = await executor
        .selectFrom('revocation_events')
        .select((eb) => eb.fn.max('at').as('at'))
        .where('kind', '=', 'account')
        .where('subject', '=', id)
        .executeTakeFirst()
      return Number(row?.at ?? 0)
    },
  }
}

/** Rows per multi-row INSERT: 12 parameters each stays far below SQLite's and PostgreSQL's limits. */
export const IMPORT_BATCH_SIZE = 1000

async function importAccountBatch(executor: Kysely<Database>, accounts: readonly ImportedAccount[], onExisting: 'keep' | 'replace'): Promise<ImportedBatch> {
  const batch: ImportedBatch = { created: [], updated: [], existing: [] }
  if (accounts.length === 0) return batch
  if (accounts.length > IMPORT_BATCH_SIZE) throw new RangeError(`at most ${IMPORT_BATCH_SIZE} accounts per import batch`)
  const ids = accounts.map((account) => account.id)
  const found = new Set((await executor.selectFrom('accounts').select('id').where('id', 'in', ids).execute()).map((row) => row.id))
  const revokedBefore = await latestAccountRevocations(executor, ids.filter((id) => !found.has(id)))
  const now = Date.now()
  const fresh = accounts.filter((account) => !found.has(account.id))
  if (fresh.length > 0) {
    await executor
      .insertInto('accounts')
      .values(
        fresh.map((account) => ({
          id: account.id,
          password_hash: account.passwordHash,
          status: account.status,
          allowed_ips: JSON.stringify(account.allowedIps),
          roles: JSON.stringify(account.roles),
          version: 1,
          tokens_valid_after: revokedBefore.get(account.id) ?? 0,
          created_at: now,
          updated_at: now,
          lockout_generation: 0,
        })),
      )
      .execute()
    batch.created = fresh.map((account) => account.id)
  }
  for (const account of accounts) {
    if (!found.has(account.id)) continue
    if (onExisting === 'keep') {
      batch.existing.push(account.id)
      continue
    }
    await executor
      .updateTable('accounts')
      .set((eb) => ({
        password_hash: account.passwordHash,
        status: account.status,
        allowed_ips: JSON.stringify(account.allowedIps),
        roles: JSON.stringify(account.roles),
        ...NO_PREVIOUS_PASSWORD,
        version: eb('version', '+', 1),
        updated_at: now,
      }))
      .where('id', '=', account.id)
      .execute()
    batch.updated.push(account.id)
  }
  return batch
}

/** `accountRevokedBefore` for many ids at once: only those with a revocation in the feed. */
async function latestAccountRevocations(executor: Kysely<Database>, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map()
  const rows = await executor
    .selectFrom('revocation_events')
    .select((eb) => ['subject', eb.fn.max('at').as('at')])
    .where('kind', '=', 'account')
    .where('subject', 'in', ids)
    .groupBy('subject')
    .execute()
  return new Map(rows.map((row) => [row.subject, Number(row.at)]))
}

function withoutDuplicates<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}
