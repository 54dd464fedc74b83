/**
 * Creates the bench's accounts straight through the store, before any server starts.
 *
 * Running `bizauth account create` per account would cost a process start and an argon2id
 * hash each (thousands of seconds for the cold path's pool). Instead one password is hashed
 * once with the server's default argon2id parameters and every account shares that hash:
 * the server cannot tell, since each account still costs one full argon2id check on first use.
 */
import { randomBytes } from 'node:crypto'
import { serverModule } from './paths.mjs'

/**
 * Cheap argon2id, for benches that measure something else than hashing (an import, propagation,
 * a million accounts' first contacts): the parameters, and the same for `bizauth` children.
 */
export const CHEAP_ARGON2 = Object.freeze({ memoryCost: 1024, timeCost: 1, parallelism: 1 })
export const CHEAP_ARGON2_ENV = Object.freeze({ BIZAUTH_ARGON2_MEMORY: '1024', BIZAUTH_ARGON2_TIME: '1', BIZAUTH_ARGON2_PARALLELISM: '1' })

/** A fresh random password for this run; it lives only in this process's memory and request headers. */
export function benchPassword() {
  return randomBytes(18).toString('base64url')
}

/**
 * @param {string | { databaseUrl: string }} location  the SQLite data directory the servers will use, or a PostgreSQL database
 * @param {string} password
 * @param {Array<{ id: string, allowedIps: string[], roles?: string[] }>} accounts
 * @param {object} [argon2]  the hash's parameters (default: the server's)
 * @returns {Promise<{ seconds: number, hashParameters: object }>}
 */
export async function seedAccounts(location, password, accounts, argon2) {
  const { openStore } = await import(serverModule('store/open.js'))
  const { PasswordHasher } = await import(serverModule('accounts/passwords.js'))
  const { DEFAULTS } = await import(serverModule('config.js'))
  const started = performance.now()
  const parameters = argon2 ?? DEFAULTS.argon2
  const hasher = new PasswordHasher(parameters)
  const passwordHash = await hasher.hash(password)
  const store = await openStore(typeof location === 'string' ? { dataDir: location } : location)
  try {
    await store.migrate()
    for (const { id, allowedIps, roles } of accounts) {
      await store.createAccount({ id, passwordHash, allowedIps, ...(roles ? { roles } : {}) })
    }
  } finally {
    await store.close()
  }
  return { seconds: (performance.now() - started) / 1000, hashParameters: { ...parameters } }
}

/** `Basic base64(account:password)` (RFC 7617). */
export function basicAuthorization(account, password) {
  return `Basic ${Buffer.from(`${account}:${password}`, 'utf8').toString('base64')}`
}
