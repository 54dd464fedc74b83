/**
 * The tables as Kysely sees them. Both dialects store the same columns with the same meaning;
 * only the SQL types differ (see migrations.ts and its per-dialect ColumnTypes).
 *
 * Instants are integers: `*_at` columns hold epoch milliseconds, except the token-facing ones
 * (`tokens_valid_after`, `token_exp`, `at`, `expires_at`), which hold epoch seconds like a JWT.
 * PostgreSQL's int8 is parsed to a JS number by the pool (see postgres/dialect.ts).
 */
import type { Generated } from 'kysely'
import type { AccountStatus, AuditAction, AuditActor, KeyAlgorithm, KeyState, RevocationKind } from './store.js'

export interface AccountsTable {
  id: string
  password_hash: string
  status: AccountStatus
  /** JSON text array of canonical CIDR strings, in insertion order. */
  allowed_ips: string
  /** JSON text array of role names. */
  roles: string
  version: number
  /** Epoch seconds; 0 = no account-wide revocation. */
  tokens_valid_after: number
  created_at: number
  updated_at: number
  /** Bumped by `bizauth account unlock`; 0 until the first unlock. */
  lockout_generation: number
  /** During a password rotation, the hash of the password before; null otherwise. */
  previous_password_hash: string | null
  /** Epoch milliseconds until which the previous password still works; null with no previous hash. */
  previous_password_until: number | null
}

export interface SigningKeysTable {
  kid: string
  alg: KeyAlgorithm
  state: KeyState
  private_material: string
  public_jwk: string | null
  created_at: number
  activated_at: number | null
  retired_at: number | null
}

export interface RevokedTokensTable {
  jti: string
  token_exp: number
  expires_at: number
}

export interface RevocationEventsTable {
  seq: Generated<number>
  kind: RevocationKind
  subject: string
  at: number
  expires_at: number
  created_at: number
}

/** One audit event; `seq` is given by the writer from `audit_chain`, not by a sequence. */
export interface AuditEventsTable {
  seq: number
  /** Epoch milliseconds. */
  time: number
  actor_type: AuditActor['type']
  actor_id: string
  source: string
  action: AuditAction
  target: string
  /** JSON text: `{field: [before, after]}`. */
  changes: string
  prev_hash: string
  hash: string
}

/** One row (id 1): the chain's head, which every append holds, and the pruning checkpoint. */
export interface AuditChainTable {
  id: number
  head_seq: number
  head_hash: string
  checkpoint_seq: number
  checkpoint_hash: string
}

export interface Database {
  accounts: AccountsTable
  signing_keys: SigningKeysTable
  revoked_tokens: RevokedTokensTable
  revocation_events: RevocationEventsTable
  audit_events: AuditEventsTable
  audit_chain: AuditChainTable
}

export type AccountRow = AccountsTable

/** Every column of `accounts`, in one place so the hot-path reads select exactly what the mapper needs. */
export const ACCOUNT_COLUMNS = [
  'id',
  'password_hash',
  'status',
  'allowed_ips',
  'roles',
  'version',
  'tokens_valid_after',
  'created_at',
  'updated_at',
  'lockout_generation',
  'previous_password_hash',
  'previous_password_until',
] as const satisfies readonly (keyof AccountsTable)[]

/** Kysely names its bookkeeping tables after the product so they are recognisable in a shared database. */
export const MIGRATION_TABLE = 'bizauth_migration'
export const MIGRATION_LOCK_TABLE = 'bizauth_migration_lock'
