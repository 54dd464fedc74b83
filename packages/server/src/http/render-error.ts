/**
 * The one place answers are rendered. Every JSON answer, success or error, goes through
 * `sendJson` (the content type, and never cached unless a public document says how long);
 * errors become `{"code","description"}` from the code table with the table's status
 * (contract.md §3). Fastify's own errors are translated; nothing unexpected leaks its message.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ContractError, NotFoundError, RateLimitedError, UnknownError, UnreadableRequestError } from '../errors.js'
import { failureLogOf } from './failure-log.js'
import { rateLimitHeaders } from './rate-limit.js'

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/**
 * A JSON answer. Answers about credentials and tokens must never be stored by a cache
 * (RFC 6749 §5.1, RFC 7662 §4); only a public document (the JWKS) passes its own `cacheControl`.
 */
export function sendJson(reply: FastifyReply, body: string, options: { status?: number; cacheControl?: string } = {}): FastifyReply {
  return reply
    .code(options.status ?? 200)
    .header('content-type', JSON_CONTENT_TYPE)
    .header('cache-control', options.cacheControl ?? 'no-store')
    .send(body)
}

/** `status` overrides the table's only where HTTP has a more precise word (413, 431, 503). */
export function sendContractError(reply: FastifyReply, error: ContractError, status = error.status): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
  if (error instanceof RateLimitedError) reply.headers(rateLimitHeaders(error.window))
  return sendJson(reply, JSON.stringify(error.toJSON()), { status })
}

/**
 * Framework errors that are the client's fault. An oversized body is an invalid token
 * request: 413 keeps HTTP's meaning for proxies, 3001 keeps the contract's form.
 */
function translateFrameworkError(error: FastifyError): { error: ContractError; status?: number } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: UnreadableRequestError('The request body is too large; this endpoint takes no body.'), status: 413 }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: UnreadableRequestError() }
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return { error: NotFoundError() }
    default:
      return undefined
  }
}

export function errorHandler(this: unknown, error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof ContractError) return sendContractError(reply, error)
  const translated = translateFrameworkError(error as FastifyError)
  if (translated) return sendContractError(reply, translated.error, translated.status)
  const status = (error as FastifyError).statusCode
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // A client error Fastify raised that we have not named: still the contract's form.
    return sendContractError(reply, UnreadableRequestError(), status)
  }
  failureLogOf(request).report(error, 'unexpected error')
  return sendContractError(reply, UnknownError())
}
