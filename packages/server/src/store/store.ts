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
  /** During a password rotation: the password before, which works until `validUntil`. */
  previousPassword: PreviousPassword | undefined
}

export interface PreviousPassword {
  passwordHash: string
  validUntil: Date
}

/** An account as a bulk import writes it: every field given, its hash as the file had it. */
export interface ImportedAccount {
  id: string
  passwordHash: string
  allowedIps: string[]
  roles: AccountRole[]
  status: AccountStatus
}

/** What one `importAccounts` call did with its batch, by id. */
export interface ImportedBatch {
  created: string[]
  updated: string[]
  /** Ids that already existed and were left as they were. */
  existing: string[]
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

// --- the audit trail (issue 11 §1) -------------------------------------------------------------

/** Every action the audit trail records. */
export const AUDIT_ACTIONS = [
  'account.create',
  'account.set_password',
  'account.suspend',
  'account.resume',
  'account.allow_ip',
  'account.deny_ip',
  'account.grant_role',
  'account.revoke_role',
  'account.revoke_tokens',
  'account.unlock',
  'account.drop_previous_password',
  'account.import',
  'account.delete',
  'key.create',
  'key.promote',
  'key.retire',
  'key.remove',
  'token.revoke',
  'security.lockout',
  'security.ip_block',
] as const

export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/**
 * Who made a change: the OS user for the CLI, the admin account for the admin API, `rotation`
 * or `limits` for the server itself, and the token's own account when its holder revokes it
 * (POST /v1/token/revoke has no operator behind it).
 */
export interface AuditActor {
  type: 'cli' | 'admin' | 'system' | 'account'
  id: string
}

/** Who asks and from where: the host name for the CLI and the server, the client IP for an API. */
export interface AuditContext {
  actor: AuditActor
  source: string
}

/** `{field: [before, after]}` for non-secret fields only. */
export type AuditChanges = Record<string, [unknown, unknown]>

/** What a change asks to record; the store gives it its place in the chain. */
export interface NewAuditEvent extends AuditContext {
  action: AuditAction
  /** The account id, kid, jti or client address the event is about. */
  target: string
  changes: AuditChanges
}

/**
 * One event of the trail, in its published form (the names are those of `audit list --json`
 * and of the canonical JSON the hash covers, see audit-chain.ts).
 */
export interface AuditEvent extends NewAuditEvent {
  /** Gap-free, from 1. */
  seq: number
  /** ISO 8601 UTC, milliseconds. */
  time: string
  prev_hash: string
  hash: string
}

/** Seals one event: its hash over the canonical JSON (which includes `prev_hash`). */
export interface AuditSeal {
  readonly algorithm: 'hmac-sha256' | 'sha256'
  hash(canonicalJson: string): string
}

/** What a writer needs to record its changes: who it is, and the seal of the trail. */
export interface AuditWriter {
  context: AuditContext
  seal: AuditSeal
}

/**
 * The head event does not verify under the writer's seal: the trail is sealed with another
 * BIZAUTH_AUDIT_KEY (or none), or its head was altered. Nothing is appended, so one writer with
 * a wrong key cannot break the chain for every later verification.
 */
export class AuditSealMismatchError extends Error {
  override readonly name = 'AuditSealMismatchError'
  constructor(readonly headSeq: number) {
    super(`the audit trail's head (seq ${headSeq}) is not sealed with this BIZAUTH_AUDIT_KEY: set the key the trail is sealed with, or run "bizauth audit verify"`)
  }
}

/** The filters of `bizauth audit list` and of the admin API's audit reading, with a cursor. */
export interface AuditQuery {
  /** Events about this account id (their target). */
  account?: string
  action?: AuditAction
  /** Events at or after this instant. */
  since?: Date
  /** Events before this instant. */
  until?: Date
  /** Cursor: events with seq greater than this (the `next` of the previous page). */
  after?: number
  limit?: number
}

export interface AuditPage {
  events: AuditEvent[]
  /** The cursor of the next page, or undefined when this page is the last. */
  next: number | undefined
}

/**
 * Where the chain stands. The head is the last appended event (seq 0 and the genesis hash before
 * the first); the checkpoint is the last pruned one, from which verification starts.
 */
export interface AuditChainState {
  headSeq: number
  headHash: string
  checkpointSeq: number
  checkpointHash: string
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

/**
 * A committed change, as `Store.onChange` announces it to every instance on the database
 * (issue 9 §3). It names what changed, never a value: a subscriber reads the store again.
 */
export type StoreChange =
  /** One account's row changed (created, updated, deleted). */
  | { kind: 'account'; id: string }
  /** Many accounts may have changed at once (a bulk import). */
  | { kind: 'accounts' }
  /** The revocation feed has new events. */
  | { kind: 'revocation' }
  /** A signing key was added, promoted, retired or removed. */
  | { kind: 'keys' }
  /** The way changes arrive was lost and is back: anything may have changed meanwhile. */
  | { kind: 'resync' }

export type StoreChangeListener = (change: StoreChange) => void

export interface Store {
  readonly dialect: 'sqlite' | 'postgres'

  /**
   * Tells `listener` of every change committed by any process on this database, until the
   * returned function is called. PostgreSQL pushes them (LISTEN/NOTIFY on one connection of its
   * own, opened by the first subscriber, so a CLI command that never subscribes never opens it);
   * SQLite never calls the listener, and its readers poll. Delivery is best effort: after a lost
   * connection a `resync` stands for whatever was missed, and polling stays the safety net.
   */
  onChange(listener: StoreChangeListener): () => void

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
  /**
   * @throws AccountMissingError. With `revoke`, also revokes earlier tokens (see revokeAccountTokens).
   * With `keepPreviousUntil` (epoch ms) the hash it replaces stays valid until then; without, a
   * previous password is dropped.
   */
  setPasswordHash(id: string, passwordHash: string, options?: { revoke?: AccountRevocation; clearLockout?: boolean; keepPreviousUntil?: number }): Promise<Account>
  /** Ends a password rotation early: only the current password works. @throws AccountMissingError */
  dropPreviousPassword(id: string): Promise<Account>
  /**
   * Writes a batch of imported accounts (at most IMPORT_BATCH_SIZE, distinct ids) in a few
   * multi-row statements. An id that exists is left alone, or with `replace` overwritten
   * (hash, allowed IPs, roles, status; version bumped, previous password dropped). A new
   * account starts where a deleted predecessor's revocations end, as `createAccount` callers do.
   */
  importAccounts(accounts: readonly ImportedAccount[], onExisting: 'keep' | 'replace'): Promise<ImportedBatch>
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
  insertKey(key: SigningKeyRecord, record?: KeyChangeRecorder): Promise<void>
  /**
   * Adds `key` (state 'next') unless a next key already waits, in one transaction serialised
   * with every other key change, so however many instances and CLI commands rotate at once there
   * is at most one next key (the unique index `signing_keys_one_next` backs it). With
   * `replacingCurrent`, adds it only while that kid is still current (an automatic rotation
   * decided on a current key another instance may have replaced meanwhile). Returns the next
   * key that waits afterwards and whether it is `key`, or undefined when nothing waits (the
   * current key was no longer `replacingCurrent`).
   */
  insertNextKey(
    key: SigningKeyRecord,
    options?: { replacingCurrent?: string; record?: KeyChangeRecorder },
  ): Promise<{ key: SigningKeyRecord; created: boolean } | undefined>
  /**
   * Atomically makes `kid` current and retires whichever key was current, in one transaction,
   * so exactly one key is current at any moment even with several instances. A compare-and-set
   * on the key's state, serialised with every other key change: returns false, changing
   * nothing, if `kid` is not in state 'next' any more (another instance promoted it first).
   */
  promoteKey(kid: string, now: Date, record?: KeyChangeRecorder<{ retired: string[] }>): Promise<boolean>
  /** Deletes retired keys whose retiredAt is before `retiredBefore`. Returns how many. */
  removeRetiredKeys(retiredBefore: Date, record?: KeyChangeRecorder<{ removed: string[] }>): Promise<number>

  // --- token revocation -----------------------------------------------------------------
  /** Records a revoked jti (idempotent) and its feed event. */
  revokeJti(jti: string, tokenExp: number, expiresAt: number): Promise<void>
  isJtiRevoked(jti: string): Promise<boolean>
  /** The changes feed: events with seq > `after`, oldest first, at most `limit`. */
  revocationsSince(after: number, limit: number): Promise<RevocationEvent[]>
  /** Forgets revoked jtis and feed events whose expiresAt is before `now` (epoch seconds). */
  pruneRevocations(now: number): Promise<number>

  // --- audit trail ----------------------------------------------------------------------
  /**
   * Appends one event at the head of the chain, sealed with `seal`. Appends are serialised (the
   * chain's head row is held until commit), so concurrent writers never fork the chain or leave a
   * gap in seq. Inside `Store.transaction` it commits, or not, with the change it records.
   */
  appendAuditEvent(event: NewAuditEvent, seal: AuditSeal, now?: Date): Promise<AuditEvent>
  /** Events in seq order, filtered, one page at a time. */
  listAuditEvents(query?: AuditQuery): Promise<AuditPage>
  auditChainState(): Promise<AuditChainState>
  /**
   * Deletes the events older than `before` and moves the checkpoint to the last one deleted, in
   * one transaction. Returns how many.
   */
  pruneAuditEvents(before: Date): Promise<number>
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
  | 'dropPreviousPassword'
  | 'importAccounts'

/** What a change can do inside `Store.transaction`. */
export type StoreTransaction = Pick<Store, AccountChangeOperation | 'revokeJti' | 'appendAuditEvent'>

/**
 * Runs inside the transaction of a signing-key change (the key operations own their
 * transactions: a failed promotion rolls back its retirement), so its audit events commit with it.
 */
export type KeyChangeRecorder<Effect = void> = (tx: Pick<StoreTransaction, 'appendAuditEvent'>, effect: Effect) => Promise<void>
