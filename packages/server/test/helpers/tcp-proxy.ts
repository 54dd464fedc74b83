/**
 * A TCP proxy between a client under test and a real server, that fails the way networks do:
 *
 * - stall(): every open connection stops forwarding in both directions and loses what is sent
 *   meanwhile, its sockets stay open (a middlebox that lost the connection's state and drops
 *   its packets, without a reset: the peers wait for answers that never come);
 * - blackhole(): new connections are accepted and then never forwarded (a SYN that gets through
 *   to a dead path);
 * - cut(): every open connection is destroyed (a reset);
 * - resume(): connections forward again from now on (what was lost stays lost), and new
 *   connections are forwarded.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  /** Port on 127.0.0.1. */
  readonly port: number
  /** Connections accepted so far (forwarded or not). */
  readonly accepted: number
  stall(): void
  blackhole(): void
  cut(): void
  resume(): void
  close(): Promise<void>
}

interface Pair {
  client: Socket
  upstream: Socket
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let stalled = false
  let blackholed = false
  let accepted = 0

  const discard = (): void => undefined
  const forward = (pair: Pair): void => {
    pair.client.off('data', discard)
    pair.upstream.off('data', discard)
    pair.client.pipe(pair.upstream)
    pair.upstream.pipe(pair.client)
  }
  const hold = (pair: Pair): void => {
    pair.client.unpipe(pair.upstream)
    pair.upstream.unpipe(pair.client)
    // Read and dropped, so neither peer sees back-pressure or a close: packets lost in transit.
    // (unpipe leaves a stream paused, so it is resumed explicitly).
    pair.client.on('data', discard).resume()
    pair.upstream.on('data', discard).resume()
  }

  const server: Server = createServer((client) => {
    accepted += 1
    const upstream = connect(target.port, target.host)
    const pair: Pair = { client, upstream }
    pairs.add(pair)
    const drop = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    if (stalled || blackholed) hold(pair)
    else forward(pair)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the proxy has no TCP address')

  const cut = (): void => {
    for (const pair of [...pairs]) {
      pair.client.destroy()
      pair.upstream.destroy()
    }
    pairs.clear()
  }

  return {
    port: address.port,
    get accepted() {
      return accepted
    },
    stall() {
      stalled = true
      for (const pair of pairs) hold(pair)
    },
    blackhole() {
      blackholed = true
    },
    cut,
    resume() {
      stalled = false
      blackholed = false
      for (const pair of pairs) forward(pair)
    },
    async close() {
      cut()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * A proxy in front of the server a connection URL (postgres://, redis://) names, and the same
 * URL pointed at the proxy: what a test gives the client it means to cut off.
 */
export async function startProxyFor(url: string, defaultPort: number): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url)
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || defaultPort) })
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(proxy.port)
  return { proxy, url: proxied.toString() }
}
