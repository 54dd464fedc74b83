/**
 * Who is calling: the socket's peer, or — only when that peer is a trusted proxy — the
 * rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (Fastify's and
 * Express's rule). With no `--trust-proxy`, the header is never read: anyone can write it.
 *
 * Returns undefined when the address that decides is unreadable; the route answers 3003.
 */
import { anyCidrContains, tryParseIpAddress, type Cidr, type IpAddress } from '../net/cidr.js'

/** A proxy chain longer than this is not a real deployment; stop reading it. */
const MAX_FORWARDED_HOPS = 32

export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedProxies: readonly Cidr[],
): IpAddress | undefined {
  let current = tryParseIpAddress(socketAddress)
  if (current === undefined || trustedProxies.length === 0 || forwardedFor === undefined) return current
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',')
  for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_FORWARDED_HOPS; i--, seen++) {
    if (!anyCidrContains(trustedProxies, current)) return current
    const hop = hops[i]!.trim()
    if (hop === '') continue
    const next = tryParseIpAddress(stripPort(hop))
    // A trusted proxy vouched for this entry, and it is garbage: the caller's IP is unreadable.
    if (next === undefined) return undefined
    current = next
  }
  return current
}

/** Some proxies append a port: `203.0.113.7:4711`, `[2001:db8::1]:4711`. */
function stripPort(hop: string): string {
  if (hop.startsWith('[')) {
    const end = hop.indexOf(']')
    return end > 0 ? hop.slice(1, end) : hop
  }
  const firstColon = hop.indexOf(':')
  if (firstColon > 0 && firstColon === hop.lastIndexOf(':') && hop.includes('.')) return hop.slice(0, firstColon)
  return hop
}
