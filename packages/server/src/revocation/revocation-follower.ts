/**
 * Follows the store's revocation feed (`store.revocationsSince`) into the RevocationList of
 * `@bizauth/verify/core` (the one every verifier keeps of the HTTP feed), so a
 * revocation made anywhere — the CLI, another instance on the same PostgreSQL — is known here
 * within about one poll interval. Also prunes the store's expired revocations now and then
 * (every instance may; the delete is idempotent).
 *
 * One pass at a time: a slow store is never asked twice at once. The timer is unref'd. On
 * PostgreSQL a revocation's announcement (Store.onChange) starts a pass at once (`pollNow`);
 * the poll stays as the safety net, and its cursor catches whatever was missed.
 */
import type { RevocationList } from '@bizauth/verify/core'
import type { RevocationEvent, Store } from '../store/store.js'

export interface RevocationFollowerOptions {
  pollIntervalMs: number
  pruneIntervalMs: number
  /** Added to a revoked token's exp (and the list's longest token life) before it is forgotten. */
  clockSkewSeconds: number
  /** Events read per store query; a pass reads pages until it has caught up. */
  pageSize?: number
  now?: () => number
  /** Told of each event applied (the revocation metric). */
  onApplied?: (event: RevocationEvent) => void
  onError?: (error: unknown) => void
}

const DEFAULT_PAGE_SIZE = 1000

export class RevocationFollower {
  readonly #store: Store
  readonly #state: RevocationList
  readonly #options: RevocationFollowerOptions
  #cursor = 0
  #timer: NodeJS.Timeout | undefined
  #pass: Promise<void> | undefined
  #followUp: Promise<void> | undefined
  #lastPruneMs = 0
  #stopped = false
  /** Completed passes; tests wait on it instead of sleeping. */
  passes = 0

  constructor(store: Store, state: RevocationList, options: RevocationFollowerOptions) {
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

  /**
   * A pass that starts after this call, now rather than at the next poll: a revocation was just
   * announced (Store.onChange), and a pass already in flight may have read the feed before it
   * committed. Calls made during one pass share the single pass that follows it.
   */
  pollNow(): Promise<void> {
    if (!this.#pass) return this.catchUp()
    this.#followUp ??= this.#pass
      .catch(() => undefined)
      .then(() => {
        this.#followUp = undefined
        return this.catchUp()
      })
    return this.#followUp
  }

  async #catchUp(): Promise<void> {
    const pageSize = this.#options.pageSize ?? DEFAULT_PAGE_SIZE
    for (;;) {
      const events = await this.#store.revocationsSince(this.#cursor, pageSize)
      for (const event of events) {
        applyEvent(this.#state, event)
        this.#options.onApplied?.(event)
        this.#cursor = Math.max(this.#cursor, event.seq)
      }
      if (events.length < pageSize) break
    }
    const nowMs = (this.#options.now ?? Date.now)()
    if (nowMs - this.#lastPruneMs >= this.#options.pruneIntervalMs) {
      this.#lastPruneMs = nowMs
      const nowSeconds = Math.floor(nowMs / 1000)
      this.#state.prune(nowSeconds, this.#options.clockSkewSeconds)
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

/** A store event in the list: what the HTTP feed's `jti` and `account` events say (wire.md). */
function applyEvent(list: RevocationList, event: RevocationEvent): void {
  if (event.kind === 'jti') list.revokeToken(event.subject, event.at)
  else list.revokeAccountBefore(event.subject, event.at)
}
