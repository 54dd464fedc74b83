/**
 * The yardstick: a bare node:http server in its own process answering POST /v1/token with a
 * fixed body of the same shape and size as a real token answer, and the same headers.
 * Everything bizauth does beyond this (routing, Basic parsing, the account read, limits,
 * signing) is what the ratio to this server measures.
 *
 * Forked by the bench: receives { type: 'init', body, headers }, answers { type: 'ready', url }.
 */
import { createServer } from 'node:http'

process.once('message', (message) => {
  const body = Buffer.from(message.body)
  const headers = { ...message.headers, 'content-length': String(body.length) }
  const notFound = Buffer.from('{"code":"5001","description":"not found"}')
  const server = createServer((request, response) => {
    // Drain any request body before answering, as a real server must.
    request.resume()
    if (request.method === 'POST' && request.url === '/v1/token') {
      response.writeHead(200, headers)
      response.end(body)
    } else {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(notFound.length) })
      response.end(notFound)
    }
  })
  server.keepAliveTimeout = 5_000
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address()
    process.send({ type: 'ready', url: `http://127.0.0.1:${port}` })
  })
  process.once('SIGTERM', () => process.exit(0))
  // The bench going away (IPC closed) ends this process too.
  process.once('disconnect', () => process.exit(0))
})
