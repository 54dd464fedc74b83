/**
 * The signing keys a server holds, and their life cycle (issue 4 §1):
 *
 *   next ──(promotion delay)──> current ──(next key promoted)──> retired ──(last token expired + skew)──> removed
 *
 * The store is the source of truth, so every instance on one PostgreSQL signs alike and a
 * rotation made by the CLI reaches running servers on their next refresh (a few seconds).
 * Promotion is one store transaction guarded by a unique index, so exactly one key is
 * current even when several instances promote at the same moment.
 *
 * Cluster-safe rotation (issue 9 §5): at most one key waits as next. Adding one is "if no next
 * key, insert one" in a single serialised store transaction (Store.insertNextKey, backed by
 * the unique index `signing_keys_one_next`); promotion is a compare-and-set on that key's
 * state. So automatic rotation on every instance and `bizauth keys rotate` on several hosts, in
 * any mix and at the same moment, leave one next key, and it is the one that becomes current.
 */
import type { JWK } from 'jose'
import type { AuditAction, AuditChanges, AuditWriter, KeyChangeRecorder, KeyAlgorithm, SigningKeyRecord, Store } from '../store/store.js'
import type { KeyEncryption } from './key-encryption.js'
import { createKeyRecord, loadKey, type LoadedKey } from './key-material.js'
import { TOKEN_LIFETIME_SECONDS } from '../tokens/lifetime.js'

export interface KeyRingOptions {
  algorithm: KeyAlgorithm
  encryption: KeyEncryption
  /** Seconds a new key is published before it signs (verifiers' JWKS caches see it first). */
  promotionDelaySeconds: number
  /** Rotate automatically when the current key is this old; 0 = never. */
  rotationIntervalSeconds: number
  /** Seconds between reloads from the store. */
  refreshSeconds: number
  /** A retired key is published for the token lifetime (tokens/lifetime.ts) after retiring, plus this. */
  clockSkewSeconds: number
  /** Records each automatic change (actor system/rotation) in the audit trail. */
  audit: AuditWriter
  onError?: (error: unknown) => void
}

export interface Jwks {
  keys: JWK[]
}

export class NoSigningKeyError extends Error {
  override readonly name = 'NoSigningKeyError'
}

export class KeyRing {
  readonly #store: Store
  readonly #options: KeyRingOptions
  #loaded = new Map<string, LoadedKey>()
  #current: LoadedKey | undefined
  #jwks: Jwks = { keys: [] }
  #jwksJson = '{"keys":[]}'
  #timer: NodeJS.Timeout | undefined
  /** The pass in flight, and the instant it was asked for (undefined: the clock's). */
  #refreshing: { at: number | undefined; done: Promise<void> } | undefined
  #followUp: Promise<void> | undefined

  private constructor(store: Store, options: KeyRingOptions) {
    this.#store = store
    this.#options = options
  }

  /** Loads the keys, creating the first one if the store has none. */
  static async open(store: Store, options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(store, options)
    await ring.refresh()
    return ring
  }

  get current(): LoadedKey {
    if (!this.#current) throw new NoSigningKeyError('no current signing key')
    return this.#current
  }

  /** A key that may verify tokens: next, current or retired. */
  find(kid: string): LoadedKey | undefined {
    return this.#loaded.get(kid)
  }

  get jwks(): Jwks {
    return this.#jwks
  }

  /** The JWKS document, serialized once per change. */
  get jwksJson(): string {
    return this.#jwksJson
  }

  /** Starts the periodic refresh (promotion, rotation, removal, reload). */
  start(): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.#options.onError?.(error))
    }, this.#options.refreshSeconds * 1000)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }

  /**
   * One maintenance pass; concurrent calls for the same instant share it. A call for another
   * instant runs after the pass in flight instead of joining it: a pass started by the clock
   * (or by a store change) must not stand in for one asked about a later moment, which would
   * skip a promotion that moment makes due.
   */
  refresh(now?: Date): Promise<void> {
    const at = now?.getTime()
    const running = this.#refreshing
    if (running && running.at === at) return running.done
    if (running) return running.done.catch(() => undefined).then(() => this.refresh(now))
    const done = this.#refresh(now ?? new Date()).finally(() => {
      if (this.#refreshing?.done === done) this.#refreshing = undefined
    })
    this.#refreshing = { at, done }
    return done
  }

  /**
   * A refresh that starts after this call: a store change was just announced, and a pass
   * already in flight may have read the keys before it committed. Calls made during one pass
   * share the one that follows it.
   */
  refreshNow(): Promise<void> {
    if (!this.#refreshing) return this.refresh()
    this.#followUp ??= this.#refreshing.done
      .catch(() => undefined)
      .then(() => {
        this.#followUp = undefined
        return this.refresh()
      })
    return this.#followUp
  }

  async #refresh(now: Date): Promise<void> {
    const options = this.#options
    await maintainKeys(this.#store, options, now)
    const records = await this.#store.listKeys()
    const loaded = new Map<string, LoadedKey>()
    for (const record of records) {
      const known = this.#loaded.get(record.kid)
      const key = known ?? (await loadKey(record, options.encryption))
      loaded.set(record.kid, { ...key, state: record.state, activatedAt: record.activatedAt, retiredAt: record.retiredAt })
    }
    const current = [...loaded.values()].find((key) => key.state === 'current')
    if (!current) throw new NoSigningKeyError('the store has no current signing key')
    this.#loaded = loaded
    this.#current = current
    this.#jwks = { keys: [...loaded.values()].flatMap((key) => (key.publicJwk ? [key.publicJwk] : [])) }
    this.#jwksJson = JSON.stringify(this.#jwks)
  }
}

/**
 * The life-cycle steps, idempotent and safe to run from every instance at once:
 * make sure a key is current, promote a next key whose delay has passed, rotate when the
 * current key is old, and remove retired keys no token can need any more.
 */
export async function maintainKeys(store: Store, options: KeyRingOptions, now: Date): Promise<void> {
  let records = await store.listKeys()
  const nowMs = now.getTime()
  const current = records.find((key) => key.state === 'current')
  const nexts = records.filter((key) => key.state === 'next').sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())

  if (!current) {
    const next = nexts[0]
    if (next) await store.promoteKey(next.kid, now, recordPromotion(options.audit, next.kid))
    else await insertFirstKey(store, options, now)
  } else {
    const due = nexts.find((key) => key.createdAt.getTime() + options.promotionDelaySeconds * 1000 <= nowMs)
    if (due) await store.promoteKey(due.kid, now, recordPromotion(options.audit, due.kid))
    else if (nexts.length === 0 && options.rotationIntervalSeconds > 0) {
      const since = (current.activatedAt ?? current.createdAt).getTime()
      if (since + options.rotationIntervalSeconds * 1000 <= nowMs) {
        const record = await createKeyRecord(options.algorithm, 'next', options.encryption, now)
        // Only while the key judged old is still current and nothing waits: another instance
        // (or the CLI) may have rotated or promoted since `records` was read.
        await store.insertNextKey(record, { replacingCurrent: current.kid, record: recordCreation(options.audit, record) })
      }
    }
  }

  const keepRetiredMs = (TOKEN_LIFETIME_SECONDS + options.clockSkewSeconds) * 1000
  records = await store.listKeys()
  if (records.some((key) => key.state === 'retired' && key.retiredAt && key.retiredAt.getTime() + keepRetiredMs < nowMs)) {
    await store.removeRetiredKeys(new Date(nowMs - keepRetiredMs), recordRemoval(options.audit))
  }
}

async function insertFirstKey(store: Store, options: KeyRingOptions, now: Date): Promise<void> {
  try {
    const record = await createKeyRecord(options.algorithm, 'current', options.encryption, now)
    await store.insertKey(record, recordCreation(options.audit, record))
  } catch (error) {
    // Another instance created the first key at the same moment; the unique index let one win.
    if (!(await store.listKeys()).some((key) => key.state === 'current')) throw error
  }
}

/** What `rotateKey` did. */
export interface Rotation {
  kid: string
  alg: KeyAlgorithm
  /** False when a next key was already waiting: it is reported, and no second one is added. */
  created: boolean
  /** Whether the key is current now (with `immediately`). */
  promoted: boolean
}

/**
 * `bizauth keys rotate` and POST /admin/v1/keys/rotate: adds a next key, unless one already
 * waits, which is then the one reported (so rotations started on several hosts at once leave
 * exactly one next key). With `immediately`, promotes the waiting key at once; running servers
 * pick it up at once (Store.onChange) or on their next refresh.
 */
export async function rotateKey(
  store: Store,
  options: Pick<KeyRingOptions, 'algorithm' | 'encryption' | 'audit'>,
  immediately: boolean,
  now: Date = new Date(),
): Promise<Rotation> {
  const record = await createKeyRecord(options.algorithm, 'next', options.encryption, now)
  const inserted = await store.insertNextKey(record, { record: recordCreation(options.audit, record) })
  // Without `replacingCurrent` a next key always waits afterwards.
  if (!inserted) throw new Error('no next key after insertNextKey')
  const { key, created } = inserted
  let promoted = false
  if (immediately) {
    // False when a concurrent `--now` promoted this same key first: it is current all the same.
    promoted =
      (await store.promoteKey(key.kid, now, recordPromotion(options.audit, key.kid))) ||
      (await store.listKeys()).some((other) => other.kid === key.kid && other.state === 'current')
  }
  return { kid: key.kid, alg: key.alg, created, promoted }
}

// --- audit events of the key life cycle (issue 11 §1): the state a change moved, never material --

/** Appends one key event in the key change's transaction. */
function appendKeyEvent(tx: Parameters<KeyChangeRecorder>[0], audit: AuditWriter, action: AuditAction, kid: string, changes: AuditChanges): Promise<unknown> {
  return tx.appendAuditEvent({ ...audit.context, action, target: kid, changes }, audit.seal)
}

function recordCreation(audit: AuditWriter, key: SigningKeyRecord): KeyChangeRecorder {
  return async (tx) => {
    await appendKeyEvent(tx, audit, 'key.create', key.kid, { state: [null, key.state], alg: [null, key.alg] })
  }
}

function recordPromotion(audit: AuditWriter, kid: string): KeyChangeRecorder<{ retired: string[] }> {
  return async (tx, { retired }) => {
    for (const old of retired) await appendKeyEvent(tx, audit, 'key.retire', old, { state: ['current', 'retired'] })
    await appendKeyEvent(tx, audit, 'key.promote', kid, { state: ['next', 'current'] })
  }
}

function recordRemoval(audit: AuditWriter): KeyChangeRecorder<{ removed: string[] }> {
  return async (tx, { removed }) => {
    for (const kid of removed) await appendKeyEvent(tx, audit, 'key.remove', kid, { state: ['retired', null] })
  }
}
