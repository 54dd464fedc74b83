import { BizauthError, isRateLimitRefusal } from './errors.js'
import { readJwtExpiryMs } from './jwt-expiry.js'
import { parseKstTimestamp } from './kst.js'
import type { StoredToken } from './token-store.js'

/** What came back from POST /v1/token, with the body already read to its end. */
export interface TokenAnswer {
  status: number
  bodyText: string
  retryAfterMs?: number | undefined
  /** `RateLimit-Reset` in milliseconds; sent on successes too, so it is a wait only on a refusal. */
  rateLimitResetMs?: number | undefined
}

/**
 * Turns a complete answer of POST /v1/token into a token, or throws a BizauthError. It never throws
 * anything else and never returns a token with a missing field (contract.md §5: clients that
 * resolved on the first chunk got `undefined` tokens).
 */
export function parseTokenAnswer(answer: TokenAnswer, receivedAtMs: number): StoredToken {
  const body = parseJson(answer.bodyText)
  if (answer.status !== 200) throw errorFromAnswer(answer, body)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badResponse(answer.status, 'the token answer is not a JSON object')
  }
  const { accesstoken, type, expired } = body as Record<string, unknown>
  if (typeof accesstoken !== 'string' || accesstoken.length === 0 || /[\s]/.test(accesstoken)) {
    throw badResponse(answer.status, 'the token answer has no usable "accesstoken"')
  }
  if (typeof type !== 'string' || type.toLowerCase() !== 'bearer') {
    throw badResponse(answer.status, 'the token answer\'s "type" is not "Bearer"')
  }
  if (typeof expired !== 'string') throw badResponse(answer.status, 'the token answer has no "expired"')
  const expiredMs = parseKstTimestamp(expired)
  if (expiredMs === undefined) {
    throw badResponse(answer.status, 'the token answer\'s "expired" is not a KST yyyyMMddHHmmss timestamp')
  }
  const jwtExpiryMs = readJwtExpiryMs(accesstoken)
  // contract.md §4 says `exp` and `expired` are the same instant; if they are not, the earlier wins.
  const expiresAtMs = jwtExpiryMs === undefined ? expiredMs : Math.min(expiredMs, jwtExpiryMs)
  return { accessToken: accesstoken, type: 'Bearer', expired, expiresAtMs, receivedAtMs }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** An error answer: the contract's `{"code","description"}`, or whatever a proxy put in front of it. */
function errorFromAnswer(answer: TokenAnswer, body: unknown): BizauthError {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const { code, description } = body as Record<string, unknown>
    // contract.md §6: the code is a number (5002) on the rate-limit page, a string ("3007") elsewhere.
    if ((typeof code === 'string' && code.length > 0) || typeof code === 'number') {
      return new BizauthError(String(code), typeof description === 'string' ? description : 'no description', {
        httpStatus: answer.status,
        retryAfterMs: serverWaitMs(answer, String(code)),
      })
    }
  }
  return new BizauthError('BAD_RESPONSE', `HTTP ${answer.status} without the contract's {"code","description"} body`, {
    httpStatus: answer.status,
    retryAfterMs: serverWaitMs(answer, 'BAD_RESPONSE'),
  })
}

/**
 * How long the service asked us to wait: `Retry-After`, else, when the answer is the rate limit
 * refusing, `RateLimit-Reset` (contract.md §6). Only then: any answer to an authenticated account
 * carries RateLimit-Reset, and a 9000 is not told to wait for the window.
 */
function serverWaitMs(answer: TokenAnswer, code: string): number | undefined {
  if (answer.retryAfterMs !== undefined) return answer.retryAfterMs
  return isRateLimitRefusal(code, answer.status) ? answer.rateLimitResetMs : undefined
}

function badResponse(httpStatus: number, description: string): BizauthError {
  return new BizauthError('BAD_RESPONSE', description, { httpStatus, retryable: false })
}
