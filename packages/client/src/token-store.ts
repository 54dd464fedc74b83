/**
 * Where tokens live between calls. Small on purpose: get, set and delete of one record, plus a
 * lock, so that a store shared by several processes (a file, Redis, a database) can make them
 * share one token and one refresh.
 */

/** One cached token, as a store keeps it. Plain JSON: no Date, no class. */
export interface StoredToken {
  accessToken: string
  type: 'Bearer'
  /** The service's `expired`, verbatim (KST `yyyyMMddHHmmss`). */
  expired: string
  /** When the token stops working: the earlier of `expired` and the JWT's `exp`, in ms since the epoch. */
  expiresAtMs: number
  /** When this client received it, in ms since the epoch; decides when a short-lived token is refreshed. */
  receivedAtMs: number
}

export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>
  /** Called by the client only while it holds `withLock(key)`. */
  set(key: string, token: StoredToken): Promise<void>
  /** Called by the client only while it holds `withLock(key)`. */
  delete(key: string): Promise<void>
  /**
   * Runs `critical` while no one else sharing this store runs a critical section for `key`, and
   * returns its result. The lock is released however `critical` ends.
   */
  withLock<T>(key: string, critical: () => Promise<T>): Promise<T>
}

/**
 * The record key: base URL and account together, so that production, staging and this project's
 * own server never hand each other's tokens out. JSON keeps the two parts unambiguous.
 */
export function tokenStoreKey(baseUrl: string, account: string): string {
  return JSON.stringify([baseUrl, account])
}

/** Whether a value read from a store (possibly written by another version) is a usable record. */
export function isStoredToken(value: unknown): value is StoredToken {
  if (typeof value !== 'object' || value === null) return false
  const record = value as Record<string, unknown>
  return (
    typeof record.accessToken === 'string' && record.accessToken.length > 0 &&
    record.type === 'Bearer' &&
    typeof record.expired === 'string' &&
    typeof record.expiresAtMs === 'number' && Number.isFinite(record.expiresAtMs) &&
    typeof record.receivedAtMs === 'number' && Number.isFinite(record.receivedAtMs)
  )
}
