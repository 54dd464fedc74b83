/**
 * The storage interface. Two dialects implement it with the same files:
 * `store/sqlite/` (better-sqlite3, the embedded default) and `store/postgres/` (pg).
 * Both are built on Kysely; one test suite (test/store.test.ts) runs against each.
 *
 * The store knows nothing of HTTP, passwords or JOSE: it keeps rows. Every method that
 * changes an account bumps its `version`, which the credential cache checks on every hit,
 * so a change made by any process (the CLI, another instance) is seen on the next request.
 */

export type AccountStatus = 'active' | 'suspended'

/**
 * Roles an account may hold beyond issuing tokens for itself: `introspect` (introspection and the
 * revocation feed), `admin` (the admin API and console) and `viewer` (their read-only part).
 */
export type AccountRole = 'introspect' | 'admin' | 'viewer'
export const ACCOUNT_ROLES: readonly AccountRole[] = ['introspect', 'admin', 'viewer']

export interface Account {
  id: string
  /** argon2id PHC string. */
  passwordHash: string
  status: AccountStatus
  /** Canonical CIDR strings (`203.0.113.7/32`, `2001:db8::/32`), in insertion order. */
  allowedIps: string[]
  roles: AccountRole[]
  /** Incremented by every change to the account. */
  version: number
  /** Tokens of this account issued before this instant (epoch seconds) are revoked; 0 = none. */
  tokensValidAfter: number
  createdAt: Date
  updatedAt: Date
  /** Bumped by every unlock; 0 until the first. */
  lockoutGeneration: number
}

export interface NewAccount {
  id: string
  passwordHash: string
  allowedIps?: string[]
  roles?: AccountRole[]
  status?: AccountStatus
  /** Where its revocations start (epoch seconds; default 0): see `accountRevokedBefore`. */
  tokensValidAfter?: number
}

/** A page of accounts in id order: those after `after`, optionally narrowed. */
export interface AccountPage {
  after?: string
  limit?: number
  /** Only ids that start with this text. */
  idPrefix?: string
  status?: AccountStatus
}

/** An account-wide revocation: tokens with iat before `validAfter` are revoked; the event is kept until `expiresAt`. */
export interface AccountRevocation {
  validAfter: number
  expiresAt: number
}

export type KeyAlgorithm = 'EdDSA' | 'ES256' | 'HS256'
export type KeyState = 'next' | 'current' | 'retired'

export interface SigningKeyRecord {
  kid: string
  alg: KeyAlgorithm
  state: KeyState
  /** The private (or, for HS256, secret) key: a JWK as JSON, or an encrypted envelope of it. */
  privateMaterial: string
  /** The public JWK as JSON; null for HS256, which publishes nothing. */
  publicJwk: string | null
  createdAt: Date
  /** When it became current (null while next). */
  activatedAt: Date | null
  /** When it stopped signing (null unless retired). */
  retiredAt: Date | null
}

export type RevocationKind = 'jti' | 'account'

export interface RevocationEvent {
  /** Monotonic position in the changes feed. */
  seq: number
  kind: RevocationKind
  /** For 'jti': the token id. For 'account': the account id. */
  subject: string
  /** For 'account': the valid-after instant (epoch seconds). For 'jti': the token's exp. */
  at: number
  /** When the entry may be forgotten (epoch seconds): the last affected token's exp plus skew. */
  expiresAt: number
  createdAt: Date
}

export class AccountExistsError extends Error {
  override readonly name = 'AccountExistsError'
  constructor(readonly accountId: string) {
    super(`account "${accountId}" already exists`)
  }
}

export class AccountMissingError extends Error {
  override readonly name = 'AccountMissingError'
  constructor(readonly accountId: string) {
    super(`account "${accountId}" does not exist`)
  }
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres'

  /** Applies pending migrations. Idempotent; safe when several processes start at once. */
  migrate(): Promise<void>
  /** Resolves when the store answers a trivial query (readiness). */
  ping(): Promise<void>
  close(): Promise<void>

  // --- accounts -------------------------------------------------------------------------
  /** @throws AccountExistsError */
  createAccount(account: NewAccount): Promise<Account>
  getAccount(id: string): Promise<Account | undefined>
  /** Every account in id order, or one page of them. */
  listAccounts(page?: AccountPage): Promise<Account[]>
  countAccounts(): Promise<number>
  /** @throws AccountMissingError. With `revoke`, also revokes earlier tokens (see revokeAccountTokens). */
  setPasswordHash(id: string, passwordHash: string, options?: { revoke?: AccountRevocation; clearLockout?: boolean }): Promise<Account>
  /**
   * Replaces the hash only if it is still `expectedHash` (a parameter upgrade after a successful
   * check must not undo a concurrent password change). Does not revoke tokens. Returns whether it wrote.
   */
  upgradePasswordHash(id: string, expectedHash: string, newHash: string): Promise<boolean>
  /** @throws AccountMissingError. Suspending may also revoke earlier tokens via `revoke`. */
  setStatus(id: string, status: AccountStatus, options?: { revoke?: AccountRevocation }): Promise<Account>
  /** Adds a canonical CIDR; a no-op if already present. @throws AccountMissingError */
  addAllowedIp(id: string, cidr: string): Promise<Account>
  /** Removes a canonical CIDR. Returns the account and whether it was present. @throws AccountMissingError */
  removeAllowedIp(id: string, cidr: string): Promise<{ account: Account; removed: boolean }>
  /** @throws AccountMissingError */
  grantRole(id: string, role: AccountRole): Promise<Account>
  /** @throws AccountMissingError */
  revokeRole(id: string, role: AccountRole): Promise<Account>
  /**
   * Sets tokensValidAfter to `validAfter`, or one past its current value when that is already
   * as late (each revocation moves it strictly forward), and records an 'account' revocation
   * event. @throws AccountMissingError
   */
  revokeAccountTokens(id: string, validAfter: number, expiresAt: number): Promise<Account>
  /** Moves `lockoutGeneration` on, which starts every instance's lockout count afresh. @throws AccountMissingError */
  clearLockout(id: string): Promise<Account>
  /** Returns whether the account existed. */
  deleteAccount(id: string): Promise<boolean>
  /** The latest account-wide revocation instant still in the feed for this id (0: none), even if the account is gone. */
  accountRevokedBefore(id: string): Promise<number>

  /**
   * Runs `work` in one transaction: the changes it makes through `tx` commit together or not at
   * all. Rows it reads are locked until then (PostgreSQL) or the whole store is (SQLite).
   */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>

  // --- signing keys ---------------------------------------------------------------------
  listKeys(): Promise<SigningKeyRecord[]>
  insertKey(key: SigningKeyRecord): Promise<void>
  /**
   * Atomically makes `kid` current and retires whichever key was current, in one transaction,
   * so exactly one key is current at any moment even with several instances. Returns false
   * if `kid` is not in state 'next' (another instance promoted it first).
   */
  promoteKey(kid: string, now: Date): Promise<boolean>
  /** Deletes retired keys whose retiredAt is before `retiredBefore`. Returns how many. */
  removeRetiredKeys(retiredBefore: Date): Promise<number>

  // --- token revocation -----------------------------------------------------------------
  /** Records a revoked jti (idempotent) and its feed event. */
  revokeJti(jti: string, tokenExp: number, expiresAt: number): Promise<void>
  isJtiRevoked(jti: string): Promise<boolean>
  /** The changes feed: events with seq > `after`, oldest first, at most `limit`. */
  revocationsSince(after: number, limit: number): Promise<RevocationEvent[]>
  /** Forgets revoked jtis and feed events whose expiresAt is before `now` (epoch seconds). */
  pruneRevocations(now: number): Promise<number>
}

/** The account operations a change can also make inside `Store.transaction`. */
export type AccountChangeOperation =
  | 'getAccount'
  | 'createAccount'
  | 'setPasswordHash'
  | 'setStatus'
  | 'addAllowedIp'
  | 'removeAllowedIp'
  | 'grantRole'
  | 'revokeRole'
  | 'revokeAccountTokens'
  | 'deleteAccount'
  | 'accountRevokedBefore'
  | 'clearLockout'

/** What a change can do inside `Store.transaction`. */
export type StoreTransaction = Pick<Store, AccountChangeOperation | 'revokeJti'>
