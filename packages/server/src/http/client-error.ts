/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers,
 * malformed framing, timeouts). Node's default answers with a bare status line and
 * Fastify's with its own JSON shape; here they get the contract's form where HTTP still
 * allows a body.
 */
import type { Socket } from 'node:net'
import { UnreadableRequestError, type ContractError } from '../errors.js'
import { JSON_CONTENT_TYPE } from './render-error.js'

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }

/** A raw HTTP answer with the contract body of `error` (there is no reply object this early). */
function answer(status: number, error: ContractError): string {
  const body = JSON.stringify(error.toJSON())
  return (
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
    `Content-Type: ${JSON_CONTENT_TYPE}\r\n` +
    'Cache-Control: no-store\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  )
}

export function handleClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  let response: string
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      response = answer(431, UnreadableRequestError('The request headers are too large.'))
      break
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      response = answer(408, UnreadableRequestError('The request took too long to arrive.'))
      break
    default:
      response = answer(400, UnreadableRequestError())
  }
  socket.end(response)
}
