import type { RevocationList } from './revocation-list.js'

export interface RevocationFollowerSettings {
  /** `{url}/v1/token/revocations` */
  readonly feedUrl: URL
  readonly authorization: string
  readonly pollIntervalMs: number
  readonly timeoutMs: number
  readonly clockToleranceSeconds: number
  readonly fetch: typeof fetch
  readonly now: () => number
  readonly onError: (error: Error) => void
}

/** Bounds one poll's requests whatever the server answers; the next poll reads on. */
const MAX_PAGES_PER_POLL = 1000

interface FeedAnswer {
  events: unknown[]
  cursor: string
}

/**
 * Follows `GET /v1/token/revocations?since=<cursor>` (wire.md) into a {@link RevocationList}.
 * One request at a time: the next poll is scheduled when the previous one has finished, so a
 * slow server is never asked twice at once. Timers are unref'd; `close()` stops everything.
 */
export class RevocationFollower {
  private cursor = '0'
  private timer: NodeJS.Timeout | undefined
  private inFlight: AbortController | undefined
  private closed = false
  private resolveFirstSync!: (synced: boolean) => void
  /** Resolves true once the first snapshot is in, or false when `close()` came first. */
  readonly firstSync = new Promise<boolean>((resolve) => {
    this.resolveFirstSync = resolve
  })
  synced = false
  /** Completed polls, successful or not; for tests and metrics. */
  pollCount = 0

  constructor(
    private readonly list: RevocationList,
    private readonly settings: RevocationFollowerSettings,
  ) {}

  start(): void {
    void this.poll()
  }

  close(): void {
    this.closed = true
    clearTimeout(this.timer)
    this.inFlight?.abort()
    this.resolveFirstSync(false)
  }

  private async poll(): Promise<void> {
    try {
      await this.readToTheEnd()
      if (!this.synced) {
        this.synced = true
        this.resolveFirstSync(true)
      }
    } catch (error) {
      if (!this.closed) this.settings.onError(new Error('could not read the revocations feed', { cause: error }))
    } finally {
      this.pollCount++
      this.list.prune(this.settings.now() / 1000, this.settings.clockToleranceSeconds)
      if (!this.closed) {
        this.timer = setTimeout(() => void this.poll(), this.settings.pollIntervalMs)
        this.timer.unref()
      }
    }
  }

  /**
   * The server answers a page at a time (wire.md: "since" is the previous answer's cursor), so
   * one request may not hold every event in force: read pages until one comes back empty. The
   * first snapshot counts only once it is complete, or a verifier would accept tokens revoked
   * on a later page.
   */
  private async readToTheEnd(): Promise<void> {
    for (let page = 0; page < MAX_PAGES_PER_POLL && !this.closed; page++) {
      const before = this.cursor
      const answer = await this.fetchSince(before)
      this.apply(answer)
      if (answer.events.length === 0 || this.cursor === before) return
    }
    throw new Error(`the revocations feed had more than ${MAX_PAGES_PER_POLL} pages; reading on at the next poll`)
  }

  private async fetchSince(cursor: string): Promise<FeedAnswer> {
    const url = new URL(this.settings.feedUrl)
    url.searchParams.set('since', cursor)
    // One controller for both the timeout and close(); AbortSignal.any needs Node 20.3.
    const controller = new AbortController()
    const timeout = setTimeout(() => controller.abort(), this.settings.timeoutMs)
    timeout.unref()
    this.inFlight = controller
    let response: Response
    let body: unknown
    try {
      response = await this.settings.fetch(url, {
        headers: { authorization: this.settings.authorization, accept: 'application/json' },
        signal: controller.signal,
      })
      body = await response.json().catch(() => undefined)
    } finally {
      clearTimeout(timeout)
      this.inFlight = undefined
    }
    if (response.status !== 200) {
      const code = (body as { code?: unknown } | undefined)?.code
      throw new Error(`revocations feed answered HTTP ${response.status}${typeof code === 'string' ? ` code ${code}` : ''}`)
    }
    const { events, cursor: next } = (body ?? {}) as { events?: unknown; cursor?: unknown }
    if (!Array.isArray(events) || (typeof next !== 'string' && typeof next !== 'number')) {
      throw new Error('revocations feed answer is not {"events":[…],"cursor":…}')
    }
    return { events, cursor: String(next) }
  }

  private apply(answer: FeedAnswer): void {
    for (const event of answer.events) {
      if (typeof event !== 'object' || event === null) continue
      const { kind, jti, exp, sub, validAfter } = event as Record<string, unknown>
      if (kind === 'jti' && typeof jti === 'string' && typeof exp === 'number') this.list.revokeToken(jti, exp)
      else if (kind === 'account' && typeof sub === 'string' && typeof validAfter === 'number') {
        this.list.revokeAccountBefore(sub, validAfter)
      }
      // Other kinds are a newer server's business; skipping them keeps this verifier working.
    }
    this.cursor = answer.cursor
  }
}
