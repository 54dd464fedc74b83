import { BizauthError } from './errors.js'

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number
  /** The first backoff ceiling; each retry doubles it up to `maxBackoffMs`. */
  baseBackoffMs: number
  maxBackoffMs: number
  /** A wait the service asks for (`Retry-After`, `RateLimit-Reset`) longer than this is not waited for: the error goes to the caller instead. */
  maxRetryAfterMs: number
  sleep: (ms: number) => Promise<void>
  random: () => number
  onRetry: (event: RetryEvent) => void
}

export interface RetryEvent {
  /** 1 for the first retry. */
  attempt: number
  delayMs: number
  error: BizauthError
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the retries run out.
 * Backoff is exponential with full jitter (a random delay between 0 and the ceiling), so that many
 * clients failing together do not come back together. A wait the service asks for wins: its
 * `Retry-After`, else a rate-limit refusal's `RateLimit-Reset` (contract.md §6 asks retries to be
 * spaced so as not to hit the limit again; the window's end is the earliest a retry can succeed).
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt()
    } catch (error) {
      const failure = error instanceof BizauthError ? error : new BizauthError('BAD_RESPONSE', 'unexpected failure', { cause: error, retryable: false })
      if (!failure.retryable || retry >= policy.retries) throw failure
      const delayMs = backoffDelayMs(policy, retry, failure)
      if (delayMs === undefined) throw failure
      policy.onRetry({ attempt: retry + 1, delayMs, error: failure })
      await policy.sleep(delayMs)
    }
  }
}

function backoffDelayMs(policy: RetryPolicy, retry: number, failure: BizauthError): number | undefined {
  if (failure.retryAfterMs !== undefined) {
    return failure.retryAfterMs > policy.maxRetryAfterMs ? undefined : failure.retryAfterMs
  }
  const ceiling = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** retry)
  return Math.floor(policy.random() * ceiling)
}
