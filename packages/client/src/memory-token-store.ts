import { KeyedMutex } from './async-mutex.js'
import type { StoredToken, TokenStore } from './token-store.js'

/** The default store: a Map in this process. Its lock serializes refreshes of clients that share it. */
export class MemoryTokenStore implements TokenStore {
  readonly #records = new Map<string, StoredToken>()
  readonly #mutex = new KeyedMutex()

  async get(key: string): Promise<StoredToken | undefined> {
    const record = this.#records.get(key)
    return record === undefined ? undefined : { ...record }
  }

  async set(key: string, token: StoredToken): Promise<void> {
    this.#records.set(key, { ...token })
  }

  async delete(key: string): Promise<void> {
    this.#records.delete(key)
  }

  withLock<T>(key: string, critical: () => Promise<T>): Promise<T> {
    return this.#mutex.run(key, critical)
  }

  toJSON(): string {
    return '[MemoryTokenStore]'
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `MemoryTokenStore { records: ${this.#records.size} }`
  }
}
