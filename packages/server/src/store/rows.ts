/** Rows to records: the one place that knows how each column is encoded. */
import type { Selectable } from 'kysely'
import type { AccountRow, AuditEventsTable, RevocationEventsTable, SigningKeysTable } from './schema.js'
import type { Account, AccountRole, AuditChanges, AuditEvent, RevocationEvent, SigningKeyRecord } from './store.js'

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
    lockoutGeneration: Number(row.lockout_generation),
    previousPassword:
      row.previous_password_hash === null || row.previous_password_until === null
        ? undefined
        : { passwordHash: row.previous_password_hash, validUntil: new Date(Number(row.previous_password_until)) },
  }
}

export function toSigningKey(row: SigningKeysTable): SigningKeyRecord {
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

export function toRevocationEvent(row: Selectable<RevocationEventsTable>): RevocationEvent {
  return {
    seq: Number(row.seq),
    kind: row.kind,
    subject: row.subject,
    at: Number(row.at),
    expiresAt: Number(row.expires_at),
    createdAt: new Date(Number(row.created_at)),
  }
}

export function toAuditEvent(row: AuditEventsTable): AuditEvent {
  return {
    seq: Number(row.seq),
    time: new Date(Number(row.time)).toISOString(),
    actor: { type: row.actor_type, id: row.actor_id },
    source: row.source,
    action: row.action,
    target: row.target,
    changes: JSON.parse(row.changes) as AuditChanges,
    prev_hash: row.prev_hash,
    hash: row.hash,
  }
}
