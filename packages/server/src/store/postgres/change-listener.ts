/**
 * The receiving end of Store.onChange on PostgreSQL (issue 9 §3): one dedicated connection per
 * instance, outside the pool, that LISTENs on CHANGE_CHANNEL. A pooled client cannot listen:
 * it is handed to other queries and released, and its notifications would go with it.
 *
 * When the connection is lost (reset, failed heartbeat, server restart) it reconnects by itself
 * with capped exponential backoff, LISTENs again and then emits `resync`: notifications sent
 * while it was down are gone for good, so subscribers re-read everything they hold.
 */
import pg from 'pg'
import type { StoreTimeouts } from '../binding.js'
import { StoreChangeListeners } from '../change-listeners.js'
import type { StoreChange, StoreChangeListener } from '../store.js'

/** The one channel every bizauth instance and CLI command on a database notifies on. */
export const CHANGE_CHANNEL = 'bizauth_changes'
/** How the listening connection shows in pg_stat_activity, for operators (and the tests). */
export const LISTENER_APPLICATION_NAME = 'bizauth changes listener'

const FIRST_RETRY_MS = 100
const LONGEST_RETRY_MS = 5000
/**
 * A LISTEN-only connection sends nothing, so a stalled network (no reset) would leave it deaf
 * for ever; a trivial query this often proves it still answers.
 */
const HEARTBEAT_MS = 5000

/** The payload as `announceChange` writes it, read back defensively: anything else is ignored. */
export function parseChange(payload: string | undefined): StoreChange | undefined {
  if (payload === undefined) return undefined
  let value: unknown
  try {
    value = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const { kind, id } = value as { kind?: unknown; id?: unknown }
  if (kind === 'account') return typeof id === 'string' ? { kind, id } : undefined
  if (kind === 'accounts' || kind === 'revocation' || kind === 'keys') return { kind }
  return undefined
}

export class PostgresChangeListener {
  readonly #connectionString: string
  readonly #timeouts: StoreTimeouts
  readonly #listeners = new StoreChangeListeners()
  #client: pg.Client | undefined
  #started = false
  #closed = false
  #failures = 0
  #retryTimer: NodeJS.Timeout | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined

  constructor(connectionString: string, timeouts: StoreTimeouts) {
    this.#connectionString = connectionString
    this.#timeouts = timeouts
  }

  /** Adds a listener; the first one opens the connection. */
  subscribe(listener: StoreChangeListener): () => void {
    const unsubscribe = this.#listeners.add(listener)
    if (!this.#started && !this.#closed) {
      this.#started = true
      void this.#connect()
    }
    return unsubscribe
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    clearTimeout(this.#retryTimer)
    clearInterval(this.#heartbeatTimer)
    const client = this.#client
    this.#client = undefined
    await client?.end().catch(() => undefined)
  }

  async #connect(): Promise<void> {
    if (this.#closed) return
    const client = new pg.Client({
      connectionString: this.#connectionString,
      application_name: LISTENER_APPLICATION_NAME,
      connectionTimeoutMillis: this.#timeouts.databaseConnectTimeoutMs,
      query_timeout: this.#timeouts.databaseStatementTimeoutMs,
      keepAlive: this.#timeouts.databaseKeepaliveMs > 0,
      keepAliveInitialDelayMillis: this.#timeouts.databaseKeepaliveMs,
    })
    // Unheard, a connection error would crash the process; it only means "reconnect".
    client.on('error', () => this.#lost(client))
    client.on('end', () => this.#lost(client))
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL) return
      const change = parseChange(message.payload)
      if (change) this.#listeners.emit(change)
    })
    this.#client = client
    try {
      await client.connect()
      await client.query(`LISTEN ${CHANGE_CHANNEL}`)
    } catch {
      this.#lost(client)
      return
    }
    if (this.#closed || this.#client !== client) return
    this.#failures = 0
    this.#heartbeatTimer = setInterval(() => {
      client.query('select 1').catch(() => this.#lost(client))
    }, HEARTBEAT_MS).unref()
    // Also on the first connection: whatever committed between the subscriber's initial read and
    // this LISTEN was announced to nobody.
    this.#listeners.emit({ kind: 'resync' })
  }

  /** Drops `client` (once, whichever event noticed first) and schedules the next attempt. */
  #lost(client: pg.Client): void {
    if (this.#client !== client) return
    this.#client = undefined
    clearInterval(this.#heartbeatTimer)
    client.removeAllListeners('notification')
    client.end().catch(() => undefined)
    if (this.#closed) return
    const delayMs = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** this.#failures)
    this.#failures++
    // Jitter: instances cut off by one outage do not all reconnect in the same millisecond.
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs / 2 + Math.random() * (delayMs / 2))
    this.#retryTimer.unref()
  }
}
