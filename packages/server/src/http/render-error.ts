/**
 * The one place errors become HTTP answers: `{"code","description"}` with the table's status
 * (contract.md §3). Fastify's own errors are translated; nothing unexpected leaks its message.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ContractError, UnknownError, NotFoundError } from '../errors.js'
import { failureLogOf } from './failure-log.js'

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** `status` overrides the table's only where HTTP has a more precise word (413, 431). */
export function sendContractError(reply: FastifyReply, error: ContractError, status = error.status): FastifyReply {
  reply.code(status).header('content-type', JSON_CONTENT_TYPE).header('cache-control', 'no-store')
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds))
  return reply.send(JSON.stringify(error.toJSON()))
}

/**
 * Framework errors that are the client's fault. An oversized body is an invalid token
 * request: 413 keeps HTTP's meaning for proxies, 3001 keeps the contract's form.
 */
function translateFrameworkError(error: FastifyError): { error: ContractError; status?: number } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new ContractError('3001', 'The request body is too large; this endpoint takes no body.'), status: 413 }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { error: new ContractError('3001', 'The request could not be read.') }
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
    return sendContractError(reply, new ContractError('3001', 'The request could not be read.'), status)
  }
  failureLogOf(request).report(error, 'unexpected error')
  return sendContractError(reply, UnknownError())
}
