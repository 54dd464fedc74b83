/**
 * Hardened HTTP edges (issue 3 §5) over a real socket: the in-process app listens on
 * 127.0.0.1 and raw `net` sockets play the clients a parser in front of Fastify must survive.
 * Every answer that HTTP still allows a body for is the contract's `{"code","description"}`,
 * never Node's bare status line or Fastify's own error shape.
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { basic, startTestApp, type TestApp } from './helpers/app.js'

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** Everything the server sent on one socket until it closed, and whether it closed at all. */
interface Exchange {
  received: string
  closed: boolean
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Writes `data` and collects what comes back until the server closes the socket. */
async function exchangeUntilClose(port: number, data: string | Buffer, deadlineMs = 10_000): Promise<Exchange> {
  const socket = await open(port)
  return new Promise((resolve) => {
    let received = ''
    const timer = setTimeout(() => {
      socket.destroy()
      resolve({ received, closed: false })
    }, deadlineMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => (received += chunk))
    socket.on('error', () => undefined) // a reset after the answer is still a close
    socket.once('close', () => {
      clearTimeout(timer)
      resolve({ received, closed: true })
    })
    if (data.length > 0) socket.write(data)
  })
}

function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  assert.ok(end > 0, `no complete HTTP response in ${JSON.stringify(raw.slice(0, 200))}`)
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n')
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1])
  const headers: Record<string, string> = {}
  for (const line of headerLines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = raw.slice(end + 4)
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']))
  return { status, headers, body: Buffer.from(body, 'latin1').toString('utf8') }
}

/** The contract form, exactly: two string keys, a 4-digit code, JSON content type. */
function assertContractBody(response: RawResponse, status: number, code: string): void {
  assert.equal(response.status, status, `expected ${status}, got ${response.status} ${response.body}`)
  assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  const parsed = JSON.parse(response.body) as Record<string, unknown>
  assert.deepEqual(Object.keys(parsed).sort(), ['code', 'description'])
  assert.equal(parsed.code, code)
  assert.equal(typeof parsed.description, 'string')
  // Neither Node's nor Fastify's defaults: those carry statusCode/error/message.
  assert.doesNotMatch(response.body, /statusCode|"error"|"message"/)
}

function request(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\n\r\n${body}`
}

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ host: '127.0.0.1', port: 0 })
  const address = t.app.server.address()
  assert.ok(address && typeof address === 'object')
  return address.port
}

describe('HTTP edges over a real socket', () => {
  let t: TestApp
  let port: number
  before(async () => {
    t = await startTestApp({ maxHeaderBytes: 2048, bodyLimitBytes: 64, headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 200 })
    await t.createAccount('acme', 'correct horse')
    port = await listen(t)
  })
  after(() => t.close())

  it('serves a well-formed token request on the raw socket (the baseline the other cases break)', async () => {
    const { received } = await exchangeUntilClose(
      port,
      request(['POST /v1/token HTTP/1.1', 'Host: x', `Authorization: ${basic('acme', 'correct horse')}`, 'Content-Length: 0', 'Connection: close']),
    )
    const response = parseResponse(received)
    assert.equal(response.status, 200, response.body)
    assert.equal((JSON.parse(response.body) as { type: string }).type, 'Bearer')
  })

  it('answers headers larger than --max-header-size with 431 in the contract form', async () => {
    const { received, closed } = await exchangeUntilClose(port, request(['POST /v1/token HTTP/1.1', 'Host: x', `X-Padding: ${'a'.repeat(4096)}`, 'Content-Length: 0']))
    assert.ok(closed)
    assertContractBody(parseResponse(received), 431, '3001')
  })

  it('answers a body over --body-limit with 413 in the contract form', async () => {
    const body = 'x'.repeat(65)
    const { received } = await exchangeUntilClose(
      port,
      request(['POST /v1/token HTTP/1.1', 'Host: x', `Authorization: ${basic('acme', 'correct horse')}`, 'Content-Type: application/json', `Content-Length: ${body.length}`, 'Connection: close'], body),
    )
    assertContractBody(parseResponse(received), 413, '3001')
  })

  it('accepts a body right at --body-limit (ignored, as the contract says)', async () => {
    const body = 'x'.repeat(64)
    const { received } = await exchangeUntilClose(
      port,
      request(['POST /v1/token HTTP/1.1', 'Host: x', `Authorization: ${basic('acme', 'correct horse')}`, 'Content-Type: text/plain', `Content-Length: ${body.length}`, 'Connection: close'], body),
    )
    assert.equal(parseResponse(received).status, 200)
  })

  it('answers a chunked body over --body-limit with 413 in the contract form', async () => {
    const chunk = 'y'.repeat(100)
    const { received } = await exchangeUntilClose(
      port,
      request(['POST /v1/token HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'Connection: close'], `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`),
    )
    assertContractBody(parseResponse(received), 413, '3001')
  })

  it('cuts off a client that never finishes its headers after --headers-timeout, with 408 in the contract form', { timeout: 15_000 }, async () => {
    const started = Date.now()
    const { received, closed } = await exchangeUntilClose(port, 'POST /v1/token HTTP/1.1\r\nHost: x\r\nX-Slow: ', 10_000)
    assert.ok(closed, 'the server closed the slow connection')
    // Bounded from above only loosely: the point is that it is not Node's 30 s sweep or never.
    assert.ok(Date.now() - started < 8_000, `closed after ${Date.now() - started} ms`)
    assertContractBody(parseResponse(received), 408, '3001')
  })

  it('cuts off a client whose body never arrives after --request-timeout', { timeout: 15_000 }, async () => {
    const { received, closed } = await exchangeUntilClose(
      port,
      request(['POST /v1/token HTTP/1.1', 'Host: x', `Authorization: ${basic('acme', 'correct horse')}`, 'Content-Type: text/plain', 'Content-Length: 40'], 'only-part'),
      10_000,
    )
    assert.ok(closed, 'the server closed the stalled request')
    assertContractBody(parseResponse(received), 408, '3001')
  })

  it('closes an idle keep-alive connection after --keep-alive-timeout', { timeout: 15_000 }, async () => {
    const { received, closed } = await exchangeUntilClose(port, request(['GET /health/live HTTP/1.1', 'Host: x']), 10_000)
    assert.ok(closed, 'the idle connection was closed')
    assert.match(received, /^HTTP\/1\.1 200 /)
  })

  const malformed: Array<[string, string | Buffer]> = [
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['an invalid header name', 'POST /v1/token HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n'],
    ['a bad Content-Length', 'POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
    ['both Content-Length and chunked (smuggling)', 'POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a bad chunk size', 'POST /v1/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n'],
    ['binary noise', Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10])],
    ['HTTP/1.1 without Host', 'POST /v1/token HTTP/1.1\r\nContent-Length: 0\r\n\r\n'],
  ]
  for (const [name, data] of malformed) {
    it(`answers ${name} with 400 in the contract form`, async () => {
      const { received, closed } = await exchangeUntilClose(port, data)
      assert.ok(closed)
      assertContractBody(parseResponse(received), 400, '3001')
    })
  }

  it('answers an unknown route and a malformed URL in the contract form (5001)', async () => {
    for (const path of ['/nope', '/v1/token/%zz', '/%']) {
      const { received } = await exchangeUntilClose(port, request([`POST ${path} HTTP/1.1`, 'Host: x', 'Content-Length: 0', 'Connection: close']))
      const response = parseResponse(received)
      assert.ok([400, 404].includes(response.status), `${path}: ${response.status}`)
      const parsed = JSON.parse(response.body) as Record<string, unknown>
      assert.deepEqual(Object.keys(parsed).sort(), ['code', 'description'], `${path}: ${response.body}`)
    }
  })
})

describe('--max-connections', () => {
  let t: TestApp
  let port: number
  const MAX = 3
  before(async () => {
    t = await startTestApp({ maxConnections: MAX, keepAliveTimeoutMs: 30_000 })
    port = await listen(t)
  })
  after(() => t.close())

  /** One keep-alive request on an open socket; resolves to the raw answer, or '' if the socket closed first. */
  function ask(socket: Socket): Promise<string> {
    return new Promise((resolve) => {
      let received = ''
      const onData = (chunk: Buffer): void => {
        received += chunk.toString('latin1')
        if (/\r\n\r\n[\s\S]*\}$/.test(received) || /content-length: 0\r\n\r\n$/i.test(received)) finish()
      }
      const finish = (): void => {
        socket.off('data', onData)
        socket.off('close', finish)
        resolve(received)
      }
      socket.on('data', onData)
      socket.once('close', finish)
      socket.on('error', () => undefined)
      socket.write(request(['GET /health/live HTTP/1.1', 'Host: x']))
    })
  }

  it('closes the (max+1)th connection at once, and accepts again once one is released', { timeout: 20_000 }, async () => {
    const held: Socket[] = []
    for (let i = 0; i < MAX; i++) {
      const socket = await open(port)
      held.push(socket)
      // A full answer proves the server accepted and counts this connection.
      assert.match(await ask(socket), /^HTTP\/1\.1 200 /)
    }
    const extra = await exchangeUntilClose(port, request(['GET /health/live HTTP/1.1', 'Host: x']), 5_000)
    assert.ok(extra.closed, 'the connection beyond the maximum was closed')
    assert.equal(extra.received, '', 'and got no answer')

    held.pop()!.destroy()
    // The server's count drops when it sees the close; poll (bounded) rather than sleep.
    const deadline = Date.now() + 5_000
    let answered = ''
    while (Date.now() < deadline) {
      const attempt = await exchangeUntilClose(port, request(['GET /health/live HTTP/1.1', 'Host: x', 'Connection: close']), 2_000)
      if (attempt.received !== '') {
        answered = attempt.received
        break
      }
    }
    assert.match(answered, /^HTTP\/1\.1 200 /)
    for (const socket of held) socket.destroy()
  })
})
