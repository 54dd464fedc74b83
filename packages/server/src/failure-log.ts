/**
 * Failures logged once per kind per interval, with a count: during an outage every request
 * fails the same way, and a stack trace per request (15,294 lines in 5 s, issue 13 §3) buries
 * the one line that says what is wrong and costs CPU the server needs to recover.
 *
 * The first failure of a kind is logged at once, in full. Repeats within the interval are
 * counted, and when it ends one line says how many there were; a kind that stays quiet for an
 * interval is forgotten, so its next failure is logged in full again.
 */
import type { FastifyBaseLogger } from 'fastify'

export const FAILURE_LOG_INTERVAL_MS = 10_000
/** Kinds tracked at once; past it, failures share one kind rather than grow the map without bound. */
const MAX_KINDS = 64

interface Window {
  repeats: number
  readonly timer: NodeJS.Timeout
}

export class FailureLog {
  readonly #windows = new Map<string, Window>()

  constructor(
    private readonly logger: Pick<FastifyBaseLogger, 'error'>,
    private readonly intervalMs = FAILURE_LOG_INTERVAL_MS,
  ) {}

  /** Logs `error` under `message` unless its kind was logged within the interval; then counts it. */
  report(error: unknown, message: string): void {
    const kind = this.#kindOf(error, message)
    const open = this.#windows.get(kind)
    if (open) {
      open.repeats += 1
      return
    }
    const err = error as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown } | null
    // Only the error's class, code, message and stack: our errors never carry secrets, and
    // request headers (Authorization) are not part of the line.
    this.logger.error({ kind, err: { type: err?.name, code: err?.code, message: err?.message, stack: err?.stack } }, message)
    this.#open(kind, message)
  }

  #open(kind: string, message: string): void {
    const timer = setTimeout(() => {
      const window = this.#windows.get(kind)
      this.#windows.delete(kind)
      if (window === undefined || window.repeats === 0) return
      this.logger.error({ kind, count: window.repeats, intervalMs: this.intervalMs }, `${message}: ${window.repeats} more in the last ${this.intervalMs} ms`)
      this.#open(kind, message)
    }, this.intervalMs)
    // A pending summary must not keep a stopping process alive.
    timer.unref()
    this.#windows.set(kind, { repeats: 0, timer })
  }

  #kindOf(error: unknown, message: string): string {
    const err = error as { name?: unknown; code?: unknown; message?: unknown } | null
    const text = typeof err?.message === 'string' ? err.message.split('\n')[0]!.slice(0, 80) : ''
    const kind = `${message}|${String(err?.name)}|${String(err?.code ?? '')}|${text}`
    return this.#windows.has(kind) || this.#windows.size < MAX_KINDS ? kind : `${message}|other`
  }
}
