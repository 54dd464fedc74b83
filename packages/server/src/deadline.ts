/**
 * A bound on how long something may take, for waits that must not hang whatever the store or
 * the network does (readiness, shutdown). The work itself is not cancelled: it goes on, and its
 * late result or failure is dropped.
 */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError'
  constructor(
    readonly what: string,
    readonly milliseconds: number,
  ) {
    super(`${what} did not finish within ${milliseconds} ms`)
  }
}

/** `work`'s result, or a DeadlineError once `milliseconds` have passed. */
export function withDeadline<T>(work: Promise<T>, milliseconds: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(what, milliseconds)), milliseconds)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
