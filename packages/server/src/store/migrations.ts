/**
 * The schema, once for both dialects, as in-code migrations (no files to ship or find at run
 * time). Each dialect passes its ColumnTypes (sqlite/migrations.ts, postgres/migrations.ts);
 * nothing else differs between them.
 *
 * A migration is never edited once released; a change is a new entry. `0001_initial_schema`
 * must build, on each dialect, exactly the tables the two per-dialect copies it replaced built
 * (test/migrate-forward.test.ts checks that against databases those copies created).
 */
import { sql, type ColumnDefinitionBuilder, type Kysely, type Migration, type MigrationProvider } from 'kysely'

/** The SQL types that differ between dialects; every other column type is the same word on both. */
export interface ColumnTypes {
  /** Epoch instants (seconds or milliseconds, see schema.ts): past 2^31, so 64 bits. */
  readonly epoch: 'integer' | 'bigint'
  /**
   * An increasing primary key that never hands out a number twice, even after the newest rows
   * are deleted: a verifier's feed cursor must never point past a future event.
   */
  readonly sequence: {
    readonly type: 'integer' | 'bigserial'
    readonly constraints: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder
  }
}

function initialSchema({ epoch, sequence }: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (col) => col.primaryKey())
        .addColumn('password_hash', 'text', (col) => col.notNull())
        .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'suspended')`))
        .addColumn('allowed_ips', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('roles', 'text', (col) => col.notNull().defaultTo('[]'))
        .addColumn('version', 'integer', (col) => col.notNull().defaultTo(1))
        .addColumn('tokens_valid_after', epoch, (col) => col.notNull().defaultTo(0))
        .addColumn('created_at', epoch, (col) => col.notNull())
        .addColumn('updated_at', epoch, (col) => col.notNull())
        .execute()

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (col) => col.primaryKey())
        .addColumn('alg', 'text', (col) => col.notNull())
        .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('next', 'current', 'retired')`))
        .addColumn('private_material', 'text', (col) => col.notNull())
        .addColumn('public_jwk', 'text')
        .addColumn('created_at', epoch, (col) => col.notNull())
        .addColumn('activated_at', epoch)
        .addColumn('retired_at', epoch)
        .execute()
      // At most one current key, enforced by the database rather than by every instance's good manners.
      await db.schema
        .createIndex('signing_keys_one_current')
        .on('signing_keys')
        .column('state')
        .unique()
        .where(sql.ref('state'), '=', 'current')
        .execute()

      await db.schema
        .createTable('revoked_tokens')
        .addColumn('jti', 'text', (col) => col.primaryKey())
        .addColumn('token_exp', epoch, (col) => col.notNull())
        .addColumn('expires_at', epoch, (col) => col.notNull())
        .execute()
      await db.schema.createIndex('revoked_tokens_expires_at').on('revoked_tokens').column('expires_at').execute()

      await db.schema
        .createTable('revocation_events')
        .addColumn('seq', sequence.type, sequence.constraints)
        .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('jti', 'account')`))
        .addColumn('subject', 'text', (col) => col.notNull())
        .addColumn('at', epoch, (col) => col.notNull())
        .addColumn('expires_at', epoch, (col) => col.notNull())
        .addColumn('created_at', epoch, (col) => col.notNull())
        .execute()
      await db.schema.createIndex('revocation_events_expires_at').on('revocation_events').column('expires_at').execute()

      await db.schema
        .createTable('settings')
        .addColumn('name', 'text', (col) => col.primaryKey())
        .addColumn('value', 'text', (col) => col.notNull())
        .execute()
    },
  }
}

/**
 * One release, one step: the `settings` table goes (issue 8: only a test ever used it), and
 * accounts gain `lockout_generation`, which `bizauth account unlock` bumps. Existing accounts
 * start at 0, as new ones do.
 */
const dropSettingsAddLockoutGeneration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropTable('settings').execute()
    await db.schema
      .alterTable('accounts')
      .addColumn('lockout_generation', 'integer', (col) => col.notNull().defaultTo(0))
      .execute()
  },
}

/**
 * The audit trail (issue 11 §1). `audit_events.seq` is a plain integer key: the writer takes it
 * from `audit_chain`'s head row, which it holds until commit, so seqs have no gap (a sequence
 * would leave one after every rollback). The chain row starts at the genesis.
 */
function auditTrail({ epoch }: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_events')
        .addColumn('seq', epoch, (col) => col.primaryKey())
        .addColumn('time', epoch, (col) => col.notNull())
        .addColumn('actor_type', 'text', (col) => col.notNull())
        .addColumn('actor_id', 'text', (col) => col.notNull())
        .addColumn('source', 'text', (col) => col.notNull())
        .addColumn('action', 'text', (col) => col.notNull())
        .addColumn('target', 'text', (col) => col.notNull())
        .addColumn('changes', 'text', (col) => col.notNull())
        .addColumn('prev_hash', 'text', (col) => col.notNull())
        .addColumn('hash', 'text', (col) => col.notNull())
        .execute()
      await db.schema.createIndex('audit_events_time').on('audit_events').column('time').execute()
      await db.schema.createIndex('audit_events_target').on('audit_events').columns(['target', 'seq']).execute()
      await db.schema
        .createTable('audit_chain')
        .addColumn('id', 'integer', (col) => col.primaryKey().check(sql`id = 1`))
        .addColumn('head_seq', epoch, (col) => col.notNull())
        .addColumn('head_hash', 'text', (col) => col.notNull())
        .addColumn('checkpoint_seq', epoch, (col) => col.notNull())
        .addColumn('checkpoint_hash', 'text', (col) => col.notNull())
        .execute()
      await (db as Kysely<{ audit_chain: { id: number; head_seq: number; head_hash: string; checkpoint_seq: number; checkpoint_hash: string } }>)
        .insertInto('audit_chain')
        // audit-chain.ts GENESIS_HASH, written out: a released migration must not move with the code.
        .values({ id: 1, head_seq: 0, head_hash: '0'.repeat(64), checkpoint_seq: 0, checkpoint_hash: '0'.repeat(64) })
        .execute()
    },
  }
}

/**
 * Two passwords during a rotation (issue 12 §2): the hash before `set-password
 * --keep-previous-for`, and until when it still works. (0003 and 0004 are other releases'.)
 */
function addPreviousPassword({ epoch }: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('accounts').addColumn('previous_password_hash', 'text').execute()
      await db.schema.alterTable('accounts').addColumn('previous_password_until', epoch).execute()
    },
  }
}

/**
 * At most one next key (issue 9 §5), enforced like the one current key: several instances
 * rotating at once must not leave a second key waiting. A database may already hold several
 * (rotations raced before this release): the oldest one, which the key ring promotes first,
 * waits on; the others are retired as of now. None of them has signed a token, and a retired key stays published for the token
 * lifetime, so a verifier that cached one still finds it.
 */
const oneNextKey: Migration = {
  async up(db: Kysely<unknown>) {
    const keys = db as Kysely<{ signing_keys: { kid: string; state: string; created_at: number; retired_at: number | null } }>
    const waiting = await keys.selectFrom('signing_keys').select('kid').where('state', '=', 'next').orderBy('created_at').orderBy('kid').execute()
    const extra = waiting.slice(1).map((row) => row.kid)
    if (extra.length > 0) {
      await keys.updateTable('signing_keys').set({ state: 'retired', retired_at: Date.now() }).where('kid', 'in', extra).execute()
    }
    await db.schema
      .createIndex('signing_keys_one_next')
      .on('signing_keys')
      .column('state')
      .unique()
      .where(sql.ref('state'), '=', 'next')
      .execute()
  },
}

/** The migrations of one dialect, keyed by name (Kysely applies them in name order). */
export function schemaMigrations(types: ColumnTypes): MigrationProvider {
  const migrations: Record<string, Migration> = {
    '0001_initial_schema': initialSchema(types),
    '0002_drop_settings_add_lockout_generation': dropSettingsAddLockoutGeneration,
    '0003_audit_trail': auditTrail(types),
    '0005_previous_password': addPreviousPassword(types),
    '0006_one_next_key': oneNextKey,
  }
  return { getMigrations: async () => migrations }
}
