import { BizauthError } from './errors.js'
import { parseRateLimitResetMs, parseRetryAfterMs } from './retry-after.js'
import type { TokenAnswer } from './token-response.js'

export interface TokenRequest {
  tokenUrl: string
  authorization: string
  timeoutMs: number
  fetch: typeof fetch
  nowMs: () => number
}

/**
 * One POST /v1/token: sends it and reads the whole body, all under one deadline (contract.md §5:
 * the sample libraries set no read timeout and resolved on the first chunk). Network failures and
 * the deadline become BizauthError 'NETWORK' and 'TIMEOUT'; any HTTP answer is returned as is.
 */
export async function requestTokenOnce(request: TokenRequest): Promise<TokenAnswer> {
  const controller = new AbortController()
  const deadline = new Promise<never>((_, reject) => {
    const timer = setTimeout(() => {
      const timeout = new BizauthError('TIMEOUT', `no complete answer from the token endpoint within ${request.timeoutMs} ms`)
      controller.abort(timeout)
      reject(timeout)
    }, request.timeoutMs)
    controller.signal.addEventListener('abort', () => clearTimeout(timer), { once: true })
  })
  deadline.catch(() => {}) // the race below observes it; this keeps an unobserved copy quiet
  try {
    // The race makes the deadline hold even for a custom fetch that ignores its signal.
    return await Promise.race([sendAndReadBody(request, controller.signal), deadline])
  } catch (error) {
    if (error instanceof BizauthError) throw error
    if (controller.signal.aborted && controller.signal.reason instanceof BizauthError) throw controller.signal.reason
    throw new BizauthError('NETWORK', describeNetworkFailure(error), { cause: error })
  } finally {
    controller.abort(new Error('done'))
  }
}

async function sendAndReadBody(request: TokenRequest, signal: AbortSignal): Promise<TokenAnswer> {
  const response = await request.fetch(request.tokenUrl, {
    method: 'POST',
    headers: {
      authorization: request.authorization,
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
    },
    signal,
    redirect: 'error', // a redirect would carry Basic credentials somewhere we did not choose
  })
  const bodyText = await response.text()
  return {
    status: response.status,
    bodyText,
    retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after'), request.nowMs()),
    rateLimitResetMs: parseRateLimitResetMs(response.headers.get('ratelimit-reset')),
  }
}

/**
 * A short reason, such as "fetch failed (ECONNREFUSED)" or "fetch failed (SELF_SIGNED_CERT_IN_CHAIN)".
 * fetch's errors name the failure, never our headers, so no credential can leak through them.
 */
function describeNetworkFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined
  const message = error instanceof Error ? error.message : 'unknown failure'
  return detail === undefined ? `the token request failed: ${message}` : `the token request failed: ${message} (${detail})`
}
