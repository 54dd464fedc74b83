/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers,
 * malformed framing, timeouts). Node's default answers with a bare status line and
 * Fastify's with its own JSON shape; here they get the contract's form where HTTP still
 * allows a body.
 */
import type { Socket } from 'node:net'

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' }

function answer(status: number, code: string, description: string): string {
  const body = JSON.stringify({ code, description })
  return (
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
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
      response = answer(431, '3001', 'The request headers are too large.')
      break
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      response = answer(408, '3001', 'The request took too long to arrive.')
      break
    default:
      response = answer(400, '3001', 'The request could not be read.')
  }
  socket.end(response)
}
