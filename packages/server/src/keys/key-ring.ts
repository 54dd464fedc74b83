/**
 * The signing keys a server holds, and their life cycle (issue 4 §1):
 *
 *   next ──(promotion delay)──> current ──(next key promoted)──> retired ──(last token expired + skew)──> removed
 *
 * The store is the source of truth, so every instance on one PostgreSQL signs alike and a
 * rotation made by the CLI reaches running servers on their next refresh (a few seconds).
 * Promotion is one store transaction guarded by a unique index, so exactly one key is
 * current even when several instances promote at the same moment.
 */
import type { JWK } from 'jose'
import type { KeyAlgorithm, Store } from '../store/store.js'
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
  #refreshing: Promise<void> | undefined

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

  /** One maintenance pass; concurrent calls share it. */
  refresh(now: Date = new Date()): Promise<void> {
    this.#refreshing ??= this.#refresh(now).finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
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
    if (next) await store.promoteKey(next.kid, now)
    else await insertFirstKey(store, options, now)
  } else {
    const due = nexts.find((key) => key.createdAt.getTime() + options.promotionDelaySeconds * 1000 <= nowMs)
    if (due) await store.promoteKey(due.kid, now)
    else if (nexts.length === 0 && options.rotationIntervalSeconds > 0) {
      const since = (current.activatedAt ?? current.createdAt).getTime()
      if (since + options.rotationIntervalSeconds * 1000 <= nowMs) {
        await store.insertKey(await createKeyRecord(options.algorithm, 'next', options.encryption, now))
      }
    }
  }

  const keepRetiredMs = (TOKEN_LIFETIME_SECONDS + options.clockSkewSeconds) * 1000
  records = await store.listKeys()
  if (records.some((key) => key.state === 'retired' && key.retiredAt && key.retiredAt.getTime() + keepRetiredMs < nowMs)) {
    await store.removeRetiredKeys(new Date(nowMs - keepRetiredMs))
  }
}

async function insertFirstKey(store: Store, options: KeyRingOptions, now: Date): Promise<void> {
  try {
    await store.insertKey(await createKeyRecord(options.algorithm, 'current', options.encryption, now))
  } catch (error) {
    // Another instance created the first key at the same moment; the unique index let one win.
    if (!(await store.listKeys()).some((key) => key.state === 'current')) throw error
  }
}

/**
 * `bizauth keys rotate`: adds a next key. With `immediately`, promotes it at once; running
 * servers pick it up on their next refresh.
 */
export async function rotateKey(
  store: Store,
  options: Pick<KeyRingOptions, 'algorithm' | 'encryption'>,
  immediately: boolean,
  now: Date = new Date(),
): Promise<{ kid: string; promoted: boolean }> {
  const record = await createKeyRecord(options.algorithm, 'next', options.encryption, now)
  await store.insertKey(record)
  const promoted = immediately ? await store.promoteKey(record.kid, now) : false
  return { kid: record.kid, promoted }
}
