/**
 * The signing keys as an operator sees them (`bizauth keys list`, GET /admin/v1/keys): states and
 * life-cycle dates, never key material; and a rotation as `bizauth keys rotate` and
 * POST /admin/v1/keys/rotate make it.
 */
import type { KeyEncryption } from './key-encryption.js'
import { rotateKey, type Rotation } from './key-ring.js'
import type { AuditWriter, KeyAlgorithm, SigningKeyRecord, Store } from '../store/store.js'
import { CLOCK_SKEW_SECONDS, TOKEN_LIFETIME_SECONDS } from '../tokens/lifetime.js'

export interface KeyJson {
  kid: string
  alg: KeyAlgorithm
  state: SigningKeyRecord['state']
  createdAt: string
  activatedAt: string | null
  retiredAt: string | null
  /** next keys: when a running server promotes it (with the promotion delay in effect here). */
  promotesAt: string | null
  /** retired keys: when it stops being published (the last token it signed has expired, plus skew, as the key ring does). */
  removedAfter: string | null
}

export function keyJson(key: SigningKeyRecord, promotionDelaySeconds: number): KeyJson {
  const iso = (date: Date | null) => (date ? date.toISOString() : null)
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    createdAt: key.createdAt.toISOString(),
    activatedAt: iso(key.activatedAt),
    retiredAt: iso(key.retiredAt),
    promotesAt: key.state === 'next' ? new Date(key.createdAt.getTime() + promotionDelaySeconds * 1000).toISOString() : null,
    removedAfter:
      key.state === 'retired' && key.retiredAt
        ? new Date(key.retiredAt.getTime() + (TOKEN_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) * 1000).toISOString()
        : null,
  }
}

const STATE_ORDER = { next: 0, current: 1, retired: 2 } as const

/** Every key, next first, then current, then retired, newest first within a state. */
export function keyViews(records: readonly SigningKeyRecord[], promotionDelaySeconds: number): KeyJson[] {
  return [...records]
    .sort((a, b) => STATE_ORDER[a.state] - STATE_ORDER[b.state] || b.createdAt.getTime() - a.createdAt.getTime())
    .map((record) => keyJson(record, promotionDelaySeconds))
}

/**
 * Adds a next key (current at once with `immediately`), with the current key's algorithm unless
 * one is given; or, when a next key already waits, reports that one (see rotateKey).
 */
export async function rotateSigningKey(
  store: Store,
  options: { algorithm?: KeyAlgorithm | undefined; encryption: KeyEncryption; audit: AuditWriter },
  immediately: boolean,
): Promise<Rotation> {
  const current = (await store.listKeys()).find((key) => key.state === 'current')
  const alg = options.algorithm ?? current?.alg ?? 'EdDSA'
  return rotateKey(store, { algorithm: alg, encryption: options.encryption, audit: options.audit }, immediately)
}
