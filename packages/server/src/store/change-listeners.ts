/**
 * Store.onChange's subscribers, as both dialects keep them: each told of every change, and a
 * subscriber that throws does not keep the others from hearing it.
 */
import type { StoreChange, StoreChangeListener } from './store.js'

export class StoreChangeListeners {
  readonly #listeners = new Set<StoreChangeListener>()

  get size(): number {
    return this.#listeners.size
  }

  /** Adds `listener` until the returned function is called. */
  add(listener: StoreChangeListener): () => void {
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
    }
  }

  clear(): void {
    this.#listeners.clear()
  }

  emit(change: StoreChange): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change)
      } catch {
        // A subscriber's failure is its own; the others still hear of the change.
      }
    }
  }
}
