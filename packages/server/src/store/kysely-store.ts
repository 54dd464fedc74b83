/**
 * The one implementation of Store, shared by both dialects. What differs between SQLite and
 * PostgreSQL (opening, the hot-path read, serializing the revocation feed, error codes) comes
 * in through `DialectBinding`, built by `sqlite/dialect.ts` or `postgres/dialect.ts`.
 */
import { Migrator, type Kysely, type MigrationProvider, type Selectable, type Transaction } from 'kysely'
import {
  AccountExistsError,
  AccountMissingError,
  type Account,
  type AccountRole,
  type AccountStatus,
  type NewAccount,
  type RevocationEvent,
  type SigningKeyRecord,
  type Store,
} from './store.js'
import {
  ACCOUNT_COLUMNS,
  MIGRATION_LOCK_TABLE,
  MIGRATION_TABLE,
  type AccountRow,
  type AccountsTable,
  type Database,
  type RevocationEventsTable,
  type SigningKeysTable,
} from './schema.js'

/**
 * How long an account-wide revocation stays in the feed: the longest token lifetime (24 h,
 * contract §1) plus the verifiers' clock tolerance. Used when setPasswordHash/setStatus revoke.
 */
export const ACCOUNT_REVOCATION_RETENTION_SECONDS = 86_400 + 300

/** Read-modify-write of the JSON columns retries on a concurrent change; this bounds the loop. */
const MAX_ACCOUNT_UPDATE_ATTEMPTS = 100

export interface DialectBinding {
  readonly dialect: Store['dialect']
  readonly db: Kysely<Database>
  readonly migrations: MigrationProvider
  /** One indexed read of one account row, without per-call query building (the token hot path). */
  findAccountRow(id: string): Promise<AccountRow | undefined>
  /** Called inside a transaction before it inserts a revocation event, so seqs become visible in order. */
  serializeRevocationEvents(trx: Transaction<Database>): Promise<void>
  isUniqueViolation(error: unknown): boolean
  /** Releases what the binding holds besides `db` (e.g. a second SQLite connection). */
  closeExtras(): Promise<void>
}

type AccountChange = Partial<Pick<AccountsTable, 'password_hash' | 'status' | 'allowed_ips' | 'roles'>>

class RollbackPromotion extends Error {}

export function createKyselyStore(binding: DialectBinding): Store {
  const { db } = binding
  let closed = false

  async function mustFindAccountRow(id: string): Promise<AccountRow> {
    const row = await binding.findAccountRow(id)
    if (!row) throw new AccountMissingError(id)
    return row
  }

  /** One UPDATE that applies `change` and bumps version and updated_at together. */
  async function updateAccount(
    executor: Kysely<Database>,
    id: string,
    change: AccountChange & { tokens_valid_after?: number },
    expectedVersion?: number,
  ): Promise<AccountRow | undefined> {
    const { tokens_valid_after: validAfter, ...plain } = change
    let query = executor
      .updateTable('accounts')
      .set((eb) => ({
        ...plain,
        ...(validAfter === undefined
          ? {}
          : {
              // Never backwards: a later, smaller instant must not un-revoke tokens.
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
    if (expectedVersion !== undefined) query = query.where('version', '=', expectedVersion)
    return query.returning(ACCOUNT_COLUMNS).executeTakeFirst()
  }

  /**
   * Read, compute, compare-and-set on `version`, retry on a lost race. Two CLI processes adding
   * different IPs at once therefore both land, on either dialect, without holding a lock across
   * the read. `compute` returns undefined for a no-op, which writes nothing (and bumps nothing).
   */
  async function updateAccountFromCurrent(
    id: string,
    compute: (current: Account) => AccountChange | undefined,
  ): Promise<{ account: Account; changed: boolean }> {
    for (let attempt = 0; attempt < MAX_ACCOUNT_UPDATE_ATTEMPTS; attempt++) {
      const row = await mustFindAccountRow(id)
      const current = toAccount(row)
      const change = compute(current)
      if (!change) return { account: current, changed: false }
      const updated = await updateAccount(db, id, change, row.version)
      if (updated) return { account: toAccount(updated), changed: true }
    }
    throw new Error(`account "${id}" kept changing; gave up after ${MAX_ACCOUNT_UPDATE_ATTEMPTS} attempts`)
  }

  async function insertRevocationEvent(
    trx: Transaction<Database>,
    event: Omit<RevocationEventsTable, 'seq' | 'created_at'>,
  ): Promise<void> {
    await binding.serializeRevocationEvents(trx)
    await trx
      .insertInto('revocation_events')
      .values({ ...event, created_at: Date.now() })
      .execute()
  }

  /** An account update plus its 'account' feed event, in one transaction. */
  async function updateAccountAndRevoke(
    id: string,
    change: AccountChange,
    validAfter: number,
    expiresAt: number,
  ): Promise<Account> {
    return db.transaction().execute(async (trx) => {
      const row = await updateAccount(trx, id, { ...change, tokens_valid_after: validAfter })
      if (!row) throw new AccountMissingError(id)
      await insertRevocationEvent(trx, {
        kind: 'account',
        subject: id,
        at: row.tokens_valid_after,
        expires_at: expiresAt,
      })
      return toAccount(row)
    })
  }

  async function changeAccount(
    id: string,
    change: AccountChange,
    revokeTokensAt: number | undefined,
  ): Promise<Account> {
    if (revokeTokensAt !== undefined) {
      return updateAccountAndRevoke(id, change, revokeTokensAt, revokeTokensAt + ACCOUNT_REVOCATION_RETENTION_SECONDS)
    }
    const row = await updateAccount(db, id, change)
    if (!row) throw new AccountMissingError(id)
    return toAccount(row)
  }

  const store: Store = {
    dialect: binding.dialect,

    async migrate() {
      const migrator = new Migrator({
        db,
        provider: binding.migrations,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: MIGRATION_LOCK_TABLE,
      })
      const { error } = await migrator.migrateToLatest()
      if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`)
    },

    async ping() {
      await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute()
    },

    async close() {
      if (closed) return
      closed = true
      await binding.closeExtras()
      await db.destroy()
    },

    // --- accounts -----------------------------------------------------------------------
    async createAccount(account: NewAccount) {
      const now = Date.now()
      const row = await db
        .insertInto('accounts')
        .values({
          id: account.id,
          password_hash: account.passwordHash,
          status: account.status ?? 'active',
          allowed_ips: JSON.stringify(dedupe(account.allowedIps ?? [])),
          roles: JSON.stringify(dedupe(account.roles ?? [])),
          version: 1,
          tokens_valid_after: 0,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returning(ACCOUNT_COLUMNS)
        .executeTakeFirst()
      if (!row) throw new AccountExistsError(account.id)
      return toAccount(row)
    },

    async getAccount(id: string) {
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

    async setPasswordHash(id, passwordHash, options) {
      return changeAccount(id, { password_hash: passwordHash }, options?.revokeTokensAt)
    },

    async upgradePasswordHash(id, expectedHash, newHash) {
      const result = await db
        .updateTable('accounts')
        .set((eb) => ({ password_hash: newHash, version: eb('version', '+', 1), updated_at: Date.now() }))
        .where('id', '=', id)
        .where('password_hash', '=', expectedHash)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async setStatus(id: string, status: AccountStatus, options) {
      return changeAccount(id, { status }, options?.revokeTokensAt)
    },

    async addAllowedIp(id, cidr) {
      const { account } = await updateAccountFromCurrent(id, (current) =>
        current.allowedIps.includes(cidr) ? undefined : { allowed_ips: JSON.stringify([...current.allowedIps, cidr]) },
      )
      return account
    },

    async removeAllowedIp(id, cidr) {
      const { account, changed } = await updateAccountFromCurrent(id, (current) =>
        current.allowedIps.includes(cidr)
          ? { allowed_ips: JSON.stringify(current.allowedIps.filter((ip) => ip !== cidr)) }
          : undefined,
      )
      return { account, removed: changed }
    },

    async grantRole(id, role: AccountRole) {
      const { account } = await updateAccountFromCurrent(id, (current) =>
        current.roles.includes(role) ? undefined : { roles: JSON.stringify([...current.roles, role]) },
      )
      return account
    },

    async revokeRole(id, role: AccountRole) {
      const { account } = await updateAccountFromCurrent(id, (current) =>
        current.roles.includes(role) ? { roles: JSON.stringify(current.roles.filter((r) => r !== role)) } : undefined,
      )
      return account
    },

    async revokeAccountTokens(id, validAfter, expiresAt) {
      return updateAccountAndRevoke(id, {}, validAfter, expiresAt)
    },

    async deleteAccount(id) {
      const result = await db.deleteFrom('accounts').where('id', '=', id).executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    // --- signing keys -------------------------------------------------------------------
    async listKeys() {
      const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute()
      return rows.map(toSigningKey)
    },

    async insertKey(key: SigningKeyRecord) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          state: key.state,
          private_material: key.privateMaterial,
          public_jwk: key.publicJwk,
          created_at: key.createdAt.getTime(),
          activated_at: key.activatedAt?.getTime() ?? null,
          retired_at: key.retiredAt?.getTime() ?? null,
        })
        .execute()
    },

    async promoteKey(kid, now) {
      const at = now.getTime()
      try {
        await db.transaction().execute(async (trx) => {
          // Retire first: the partial unique index forbids two current keys even mid-transaction.
          await trx
            .updateTable('signing_keys')
            .set({ state: 'retired', retired_at: at })
            .where('state', '=', 'current')
            .where('kid', '<>', kid)
            .execute()
          const promoted = await trx
            .updateTable('signing_keys')
            .set({ state: 'current', activated_at: at })
            .where('kid', '=', kid)
            .where('state', '=', 'next')
            .executeTakeFirst()
          if (promoted.numUpdatedRows === 0n) throw new RollbackPromotion()
        })
        return true
      } catch (error) {
        if (error instanceof RollbackPromotion) return false
        // PostgreSQL: another instance promoted a different key concurrently; its key is
        // current now (invisible to our first UPDATE's snapshot), so ours loses.
        if (binding.isUniqueViolation(error)) return false
        throw error
      }
    },

    async removeRetiredKeys(retiredBefore) {
      const result = await db
        .deleteFrom('signing_keys')
        .where('state', '=', 'retired')
        .where('retired_at', '<', retiredBefore.getTime())
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    // --- token revocation ---------------------------------------------------------------
    async revokeJti(jti, tokenExp, expiresAt) {
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('revoked_tokens')
          .values({ jti, token_exp: tokenExp, expires_at: expiresAt })
          .onConflict((oc) => oc.column('jti').doNothing())
          .returning('jti')
          .executeTakeFirst()
        // Idempotent: a repeated revocation adds no second feed event.
        if (inserted) await insertRevocationEvent(trx, { kind: 'jti', subject: jti, at: tokenExp, expires_at: expiresAt })
      })
    },

    async isJtiRevoked(jti) {
      const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()
      return row !== undefined
    },

    async revocationsSince(after, limit) {
      const rows = await db
        .selectFrom('revocation_events')
        .selectAll()
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(limit)
        .execute()
      return rows.map(toRevocationEvent)
    },

    async pruneRevocations(now) {
      return db.transaction().execute(async (trx) => {
        const tokens = await trx.deleteFrom('revoked_tokens').where('expires_at', '<', now).executeTakeFirst()
        const events = await trx.deleteFrom('revocation_events').where('expires_at', '<', now).executeTakeFirst()
        return Number(tokens.numDeletedRows + events.numDeletedRows)
      })
    },

    // --- settings -----------------------------------------------------------------------
    async getSetting(name) {
      const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst()
      return row?.value
    },

    async putSettingIfAbsent(name, value) {
      await db
        .insertInto('settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute()
      const row = await db
        .selectFrom('settings')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow()
      return row.value
    },
  }
  return store
}

function dedupe<T>(values: readonly T[]): T[] {
  return [...new Set(values)]
}

export function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    passwordHash: row.password_hash,
    status: row.status,
    allowedIps: JSON.parse(row.allowed_ips) as string[],
    roles: JSON.parse(row.roles) as AccountRole[],
    version: Number(row.version),
    tokensValidAfter: Number(row.tokens_valid_after),
    createdAt: new Date(Number(row.created_at)),
    updatedAt: new Date(Number(row.updated_at)),
  }
}

function toSigningKey(row: SigningKeysTable): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    privateMaterial: row.private_material,
    publicJwk: row.public_jwk,
    createdAt: new Date(Number(row.created_at)),
    activatedAt: row.activated_at === null ? null : new Date(Number(row.activated_at)),
    retiredAt: row.retired_at === null ? null : new Date(Number(row.retired_at)),
  }
}

function toRevocationEvent(row: Selectable<RevocationEventsTable>): RevocationEvent {
  return {
    seq: Number(row.seq),
    kind: row.kind,
    subject: row.subject,
    at: Number(row.at),
    expiresAt: Number(row.expires_at),
    createdAt: new Date(Number(row.created_at)),
  }
}
