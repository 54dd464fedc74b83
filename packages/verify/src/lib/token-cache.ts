/**
 * A bounded map from token string to what verifying it produced, least recently used out first.
 * Entries also leave when their token expires; the caller checks `expiresAt` on every hit.
 */
export class TokenCache<Entry extends { readonly expiresAt: number }> {
  private readonly entries = new Map<string, Entry>()

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size
  }

  get(token: string): Entry | undefined {
    const entry = this.entries.get(token)
    if (entry !== undefined) {
      // Map keeps insertion order: moving the hit to the end makes the first key the least recent.
      this.entries.delete(token)
      this.entries.set(token, entry)
    }
    return entry
  }

  set(token: string, entry: Entry): void {
    if (this.maxEntries <= 0) return
    this.entries.delete(token)
    this.entries.set(token, entry)
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }
  }

  delete(token: string): void {
    this.entries.delete(token)
  }

  clear(): void {
    this.entries.clear()
  }
}
