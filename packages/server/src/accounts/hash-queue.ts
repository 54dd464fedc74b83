/**
 * The one bounded queue that all argon2id work goes through (issue "Abuse resistance" §2).
 *
 * argon2id is slow on purpose; without a bound, a flood of bad passwords queues unbounded
 * work and every honest request waits behind it. Here at most `concurrency` checks run and
 * at most `maxWaiting` wait; anything beyond is refused at once so the route can answer
 * 3008 with Retry-After instead of making the caller wait for seconds.
 */
export class HashQueueFullError extends Error {
  override readonly name = 'HashQueueFullError'
  constructor(readonly retryAfterSeconds: number) {
    super('password hashing queue is full')
  }
}

export class HashQueue {
  #running = 0
  readonly #waiting: Array<() => void> = []
  /** Counts every job started; tests observe cache hits through it instead of timing. */
  started = 0

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
    /** Told of every job that starts, with the seconds it waited in the queue (the metrics). */
    readonly onStarted?: (waitedSeconds: number) => void,
  ) {}

  get running(): number {
    return this.#running
  }

  get waiting(): number {
    return this.#waiting.length
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    const queuedAt = performance.now()
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.maxWaiting) throw new HashQueueFullError(1)
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running++
    }
    this.started++
    this.onStarted?.((performance.now() - queuedAt) / 1000)
    try {
      return await job()
    } finally {
      const next = this.#waiting.shift()
      // Hand the slot straight to the next waiter so `running` never dips and lets a newcomer jump the line.
      if (next) next()
      else this.#running--
    }
  }
}
