/**
 * A bounded Map, least recently used out first: the verified-token cache here and on the server.
 * It knows nothing of expiry; a caller whose entries expire checks that on every hit.
 */
export class LruMap<Key, Value> {
  private readonly entries = new Map<Key, Value>()

  /** At most this many entries; 0 or less keeps none (a cache turned off). */
  constructor(readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size
  }

  /** The value, now the most recently used. */
  get(key: Key): Value | undefined {
    const value = this.entries.get(key)
    if (value !== undefined) {
      // Map keeps insertion order: moving the hit to the end makes the first key the least recent.
      this.entries.delete(key)
      this.entries.set(key, value)
    }
    return value
  }

  set(key: Key, value: Value): void {
    if (this.maxEntries <= 0) return
    this.entries.delete(key)
    this.entries.set(key, value)
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as Key)
    }
  }

  delete(key: Key): void {
    this.entries.delete(key)
  }

  /** Deletes every entry `matches` accepts (a scan: for rare, targeted evictions). Returns how many. */
  deleteWhere(matches: (value: Value, key: Key) => boolean): number {
    let deleted = 0
    for (const [key, value] of this.entries) {
      if (!matches(value, key)) continue
      this.entries.delete(key)
      deleted++
    }
    return deleted
  }

  clear(): void {
    this.entries.clear()
  }
}
