/**
 * Follows the store's revocation feed (`store.revocationsSince`) into a RevocationState, so a
 * revocation made anywhere — the CLI, another instance on the same PostgreSQL — is known here
 * within about one poll interval. Also prunes the store's expired revocations now and then
 * (every instance may; the delete is idempotent).
 *
 * One pass at a time: a slow store is never asked twice at once. The timer is unref'd.
 */
import type { Store } from '../store/store.js'
import type { RevocationState } from './revocation-state.js'

export interface RevocationFollowerOptions {
  pollIntervalMs: number
  pruneIntervalMs: number
  tokenTtlSeconds: number
  clockSkewSeconds: number
  /** Events read per store query; a pass reads pages until it has caught up. */
  pageSize?: number
  now?: () => number
  onError?: (error: unknown) => void
}

const DEFAULT_PAGE_SIZE = 1000

export class RevocationFollower {
  readonly #store: Store
  readonly #state: RevocationState
  readonly #options: RevocationFollowerOptions
  #cursor = 0
  #timer: NodeJS.Timeout | undefined
  #pass: Promise<void> | undefined
  #lastPruneMs = 0
  #stopped = false
  /** Completed passes; tests wait on it instead of sleeping. */
  passes = 0

  constructor(store: Store, state: RevocationState, options: RevocationFollowerOptions) {
    this.#store = store
    this.#state = state
    this.#options = options
  }

  get cursor(): number {
    return this.#cursor
  }

  /** Reads the whole feed once (call before serving), then polls. */
  async start(): Promise<void> {
    this.#stopped = false
    await this.catchUp()
    this.#schedule()
  }

  stop(): void {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** One pass: every event past the cursor, page by page; concurrent calls share it. */
  catchUp(): Promise<void> {
    this.#pass ??= this.#catchUp().finally(() => {
      this.#pass = undefined
      this.passes++
    })
    return this.#pass
  }

  async #catchUp(): Promise<void> {
    const pageSize = this.#options.pageSize ?? DEFAULT_PAGE_SIZE
    for (;;) {
      const events = await this.#store.revocationsSince(this.#cursor, pageSize)
      for (const event of events) {
        this.#state.apply(event)
        this.#cursor = Math.max(this.#cursor, event.seq)
      }
      if (events.length < pageSize) break
    }
    const nowMs = (this.#options.now ?? Date.now)()
    if (nowMs - this.#lastPruneMs >= this.#options.pruneIntervalMs) {
      this.#lastPruneMs = nowMs
      const nowSeconds = Math.floor(nowMs / 1000)
      this.#state.prune(nowSeconds, this.#options.tokenTtlSeconds, this.#options.clockSkewSeconds)
      await this.#store.pruneRevocations(nowSeconds)
    }
  }

  #schedule(): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      this.catchUp()
        .catch((error: unknown) => this.#options.onError?.(error))
        .finally(() => this.#schedule())
    }, this.#options.pollIntervalMs)
    this.#timer.unref()
  }
}
