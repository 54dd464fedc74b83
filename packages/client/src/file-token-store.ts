import { KeyedMutex } from './async-mutex.js'
import { BizauthError } from './errors.js'
import { isStoredToken, type StoredToken, type TokenStore } from './token-store.js'

export interface FileTokenStoreOptions {
  /**
   * A lock whose holder's process is gone, or that nobody has touched for this long, is taken over.
   * The holder touches its lock every third of this, so a live holder is never robbed. Default 30000.
   */
  staleLockMs?: number
  /** How long to wait for the lock before failing with 'TIMEOUT'. Default 60000. */
  lockTimeoutMs?: number
}

interface TokenFile {
  version: 1
  records: Record<string, StoredToken>
}

interface LockOwner {
  pid: number | undefined
  nonce: string
}

type NodeFs = typeof import('node:fs/promises')

/**
 * Tokens in one JSON file, shared by every process on the machine that opens the same path: they
 * share one token and, through a lock file next to it, one refresh.
 *
 * Node only. `node:fs` is imported when a method first runs, never at module load, so importing
 * `@bizauth/client` still works on Deno, Bun and workers that never construct this store.
 *
 * - The file is written atomically (a temporary file in the same directory, then rename) with mode
 *   0600: readers never see half a file and other users cannot read the tokens.
 * - The lock is `<path>.lock`, created with O_EXCL. It records its holder's pid.
 */
export class FileTokenStore implements TokenStore {
  readonly path: string
  readonly #lockPath: string
  readonly #staleLockMs: number
  readonly #lockTimeoutMs: number
  // One lock file per store file, so every key of this instance shares one in-process queue too.
  readonly #mutex = new KeyedMutex()

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('FileTokenStore needs a file path')
    this.path = path
    this.#lockPath = `${path}.lock`
    this.#staleLockMs = positiveOrDefault(options.staleLockMs, 30_000, 'staleLockMs')
    this.#lockTimeoutMs = positiveOrDefault(options.lockTimeoutMs, 60_000, 'lockTimeoutMs')
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const file = await this.#readTokenFile()
    const record = file.records[key]
    return isStoredToken(record) ? record : undefined
  }

  async set(key: string, token: StoredToken): Promise<void> {
    const file = await this.#readTokenFile()
    file.records[key] = { ...token }
    await this.#writeTokenFile(file)
  }

  async delete(key: string): Promise<void> {
    const file = await this.#readTokenFile()
    if (!(key in file.records)) return
    delete file.records[key]
    await this.#writeTokenFile(file)
  }

  withLock<T>(_key: string, critical: () => Promise<T>): Promise<T> {
    return this.#mutex.run('file', async () => {
      const fs = await loadFs()
      const owner = await this.#acquireLockFile(fs)
      const heartbeat = setInterval(() => {
        const now = new Date()
        fs.utimes(this.#lockPath, now, now).catch(() => {})
      }, Math.max(1, Math.floor(this.#staleLockMs / 3)))
      ;(heartbeat as { unref?: () => void }).unref?.()
      try {
        return await critical()
      } finally {
        clearInterval(heartbeat)
        await this.#releaseLockFile(fs, owner)
      }
    })
  }

  toJSON(): string {
    return `[FileTokenStore ${this.path}]`
  }

  async #readTokenFile(): Promise<TokenFile> {
    const fs = await loadFs()
    let text: string
    try {
      text = await fs.readFile(this.path, 'utf8')
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return emptyTokenFile()
      throw storeError('cannot read the token file', error)
    }
    try {
      const parsed: unknown = JSON.parse(text)
      const records = (parsed as { records?: unknown } | null)?.records
      if (typeof records !== 'object' || records === null || Array.isArray(records)) return emptyTokenFile()
      return { version: 1, records: records as Record<string, StoredToken> }
    } catch {
      // A damaged file (a crash, a hand edit) costs one token request, never a failure.
      return emptyTokenFile()
    }
  }

  async #writeTokenFile(file: TokenFile): Promise<void> {
    const fs = await loadFs()
    const { dirname } = await import('node:path')
    const temporaryPath = `${this.path}.${processId() ?? 0}.${randomNonce()}.tmp`
    try {
      await fs.mkdir(dirname(this.path), { recursive: true, mode: 0o700 })
      const handle = await fs.open(temporaryPath, 'wx', 0o600)
      try {
        await handle.writeFile(JSON.stringify(file))
        await handle.sync()
      } finally {
        await handle.close()
      }
      await fs.rename(temporaryPath, this.path)
    } catch (error) {
      await fs.unlink(temporaryPath).catch(() => {})
      throw storeError('cannot write the token file', error)
    }
  }

  async #acquireLockFile(fs: NodeFs): Promise<LockOwner> {
    const owner: LockOwner = { pid: processId(), nonce: randomNonce() }
    const deadline = Date.now() + this.#lockTimeoutMs
    let pauseMs = 5
    for (;;) {
      try {
        const handle = await fs.open(this.#lockPath, 'wx', 0o600)
        try {
          await handle.writeFile(JSON.stringify({ ...owner, createdAt: new Date().toISOString() }))
        } finally {
          await handle.close()
        }
        return owner
      } catch (error) {
        if (errorCode(error) === 'ENOENT') {
          const { dirname } = await import('node:path')
          await fs.mkdir(dirname(this.#lockPath), { recursive: true, mode: 0o700 }).catch(() => {})
          continue
        }
        if (errorCode(error) !== 'EEXIST') throw storeError('cannot create the lock file', error)
      }
      if (await this.#takeOverIfStale(fs)) continue
      if (Date.now() >= deadline) {
        throw new BizauthError('TIMEOUT', `the token store lock was not free within ${this.#lockTimeoutMs} ms`, { retryable: true })
      }
      // Polling, with jitter so that waiters do not wake together; the lock is held for one token request.
      await new Promise((resolve) => setTimeout(resolve, pauseMs / 2 + Math.random() * pauseMs / 2))
      pauseMs = Math.min(pauseMs * 2, 100)
    }
  }

  /** Removes the lock file if its holder is dead or it went untouched past `staleLockMs`. */
  async #takeOverIfStale(fs: NodeFs): Promise<boolean> {
    let text: string
    let modifiedMs: number
    try {
      text = await fs.readFile(this.#lockPath, 'utf8')
      modifiedMs = (await fs.stat(this.#lockPath)).mtimeMs
    } catch (error) {
      return errorCode(error) === 'ENOENT' // released meanwhile: try again at once
    }
    const holder = parseLockOwner(text)
    const abandoned = Date.now() - modifiedMs > this.#staleLockMs
    const holderDead = holder?.pid !== undefined && !isProcessAlive(holder.pid)
    // A lock file still being written (empty) is young; only its age can make it stale.
    if (!abandoned && !holderDead) return false
    // Re-read just before removing, so a lock that changed hands meanwhile is left alone.
    const current = await fs.readFile(this.#lockPath, 'utf8').catch(() => undefined)
    if (current !== text) return current === undefined
    await fs.unlink(this.#lockPath).catch(() => {})
    return true
  }

  async #releaseLockFile(fs: NodeFs, owner: LockOwner): Promise<void> {
    const text = await fs.readFile(this.#lockPath, 'utf8').catch(() => undefined)
    if (text !== undefined && parseLockOwner(text)?.nonce === owner.nonce) {
      await fs.unlink(this.#lockPath).catch(() => {})
    }
  }
}

async function loadFs(): Promise<NodeFs> {
  return import('node:fs/promises')
}

function emptyTokenFile(): TokenFile {
  return { version: 1, records: {} }
}

function parseLockOwner(text: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; nonce?: unknown }
    if (typeof parsed.nonce !== 'string') return undefined
    return { pid: typeof parsed.pid === 'number' ? parsed.pid : undefined, nonce: parsed.nonce }
  } catch {
    return undefined
  }
}

function processId(): number | undefined {
  return (globalThis as { process?: { pid?: number } }).process?.pid
}

function isProcessAlive(pid: number): boolean {
  const nodeProcess = (globalThis as { process?: { kill?: (pid: number, signal: number) => void } }).process
  if (nodeProcess?.kill === undefined) return true
  try {
    nodeProcess.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM' // exists, but belongs to someone else
  }
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

function storeError(what: string, cause: unknown): BizauthError {
  const code = errorCode(cause)
  return new BizauthError('STORE', code === undefined ? what : `${what} (${code})`, { cause, retryable: false })
}

function positiveOrDefault(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number`)
  return value
}
