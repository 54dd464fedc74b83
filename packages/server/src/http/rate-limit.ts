/**
 * The API rate limit at the HTTP edge (contract.md §6): one request of an authenticated account
 * is counted, its window told in `RateLimit-*` headers, and a request over the limit refused with
 * 429/5002. Token issuance, a holder's own revocation and every admin call go through here.
 *
 * The headers are sent only once the account is known and authenticated (never on a failed
 * login), so they cannot tell an unknown account from a known one (`--uniform-auth-errors`).
 */
import type { FastifyReply } from 'fastify'
import { RateLimitedError } from '../errors.js'
import type { Limits, RateWindow } from '../limits/limits.js'

/**
 * The headers of a window. `RateLimit-Reset` is in seconds with up to three decimals
 * (milliseconds), like the contract's `0.299`, and a whole number when it is one (`60`): the
 * contract asks clients to accept a decimal, and a whole number is one too.
 */
export function rateLimitHeaders(window: RateWindow): Record<string, string> {
  return {
    'ratelimit-limit': String(window.limit),
    'ratelimit-remaining': String(window.remaining),
    'ratelimit-reset': String(window.resetInMs / 1000),
  }
}

/**
 * Counts one request of `accountId`. Within the limit, the headers go on `reply` (when the route
 * has one to give) and the request goes on; over it, RateLimitedError, which the error renderer
 * answers with the same headers.
 */
export async function countAccountRequest(limits: Limits, accountId: string, reply?: FastifyReply): Promise<void> {
  const window = await limits.countRequest(accountId, Date.now())
  if (window === undefined) return
  if (window.exceeded) throw new RateLimitedError(window)
  reply?.headers(rateLimitHeaders(window))
}
