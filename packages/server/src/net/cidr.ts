/**
 * IP addresses and CIDR ranges, for allow-lists and trusted proxies.
 *
 * - A bare address means that single host (`/32` or `/128`).
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`) is treated as its IPv4 form everywhere, so an
 *   allow-list entry `203.0.113.7` matches a dual-stack socket's `::ffff:203.0.113.7`.
 * - Canonical text is what the store keeps: the network address with its prefix, e.g.
 *   `203.0.113.0/24`, `2001:db8::/32`. Host bits are rejected, not silently cleared, because
 *   `10.0.0.5/24` is more likely a typo than an intent.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { printable as printableText } from '../printable.js'

/** Addresses echoed in errors stay short whatever the input was. */
const printable = (text: string): string => printableText(text, 48)

export interface IpAddress {
  readonly family: 4 | 6
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array
}

export interface Cidr extends IpAddress {
  readonly prefix: number
  /** Canonical text, e.g. `203.0.113.0/24`. */
  readonly text: string
}

export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError'
}

const MAX_TEXT = 64

function parseIPv4Bytes(text: string): Uint8Array {
  const bytes = new Uint8Array(4)
  const parts = text.split('.')
  for (let i = 0; i < 4; i++) bytes[i] = Number(parts[i])
  return bytes
}

function parseIPv6Bytes(text: string): Uint8Array {
  let head = text
  let tailV4: Uint8Array | undefined
  const lastColon = text.lastIndexOf(':')
  if (text.includes('.', lastColon)) {
    tailV4 = parseIPv4Bytes(text.slice(lastColon + 1))
    head = text.slice(0, lastColon + 1) + '0:0'
  }
  const [left = '', right] = head.split('::') as [string, string | undefined]
  const leftGroups = left === '' ? [] : left.split(':')
  const rightGroups = right === undefined || right === '' ? [] : right.split(':')
  const missing = 8 - leftGroups.length - rightGroups.length
  const groups = right === undefined ? leftGroups : [...leftGroups, ...Array<string>(missing).fill('0'), ...rightGroups]
  const bytes = new Uint8Array(16)
  groups.forEach((group, i) => {
    const value = parseInt(group, 16)
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  if (tailV4) bytes.set(tailV4, 12)
  return bytes
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

/** Parses an IPv4 or IPv6 address (no zone id, no brackets); IPv4-mapped IPv6 becomes IPv4. */
export function parseIpAddress(input: string): IpAddress {
  const text = input.trim()
  if (text.length === 0 || text.length > MAX_TEXT) throw new InvalidAddressError('not an IP address')
  if (isIPv4(text)) return { family: 4, bytes: parseIPv4Bytes(text) }
  if (isIPv6(text) && !text.includes('%')) {
    const bytes = parseIPv6Bytes(text)
    if (isV4Mapped(bytes)) return { family: 4, bytes: bytes.slice(12) }
    return { family: 6, bytes }
  }
  throw new InvalidAddressError(`"${printable(text)}" is not an IPv4 or IPv6 address`)
}

/** Like parseIpAddress but returns undefined instead of throwing (for the request path). */
export function tryParseIpAddress(text: string | undefined): IpAddress | undefined {
  if (text === undefined) return undefined
  try {
    return parseIpAddress(text)
  } catch {
    return undefined
  }
}

export function formatIpAddress(address: IpAddress): string {
  if (address.family === 4) return Array.from(address.bytes).join('.')
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((address.bytes[i]! << 8) | address.bytes[i + 1]!)
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/** Parses `addr` or `addr/prefix` into a canonical range. */
export function parseCidr(input: string): Cidr {
  const text = input.trim()
  if (text.length === 0 || text.length > MAX_TEXT + 4) throw new InvalidAddressError('not an IP address or CIDR range')
  const slash = text.indexOf('/')
  const addressText = slash < 0 ? text : text.slice(0, slash)
  const rawAddress = addressText.trim()
  let address: IpAddress
  try {
    address = parseIpAddress(rawAddress)
  } catch {
    throw new InvalidAddressError(`"${printable(text)}" is not an IP address or CIDR range (e.g. 203.0.113.7 or 203.0.113.0/24)`)
  }
  const mappedFromV6 = address.family === 4 && isIPv6(rawAddress)
  const width = address.family === 4 ? 32 : 128
  let prefix = width
  if (slash >= 0) {
    const prefixText = text.slice(slash + 1)
    if (!/^\d{1,3}$/.test(prefixText)) throw new InvalidAddressError(`"${printable(text)}" has an invalid prefix length`)
    prefix = Number(prefixText)
    // An IPv4-mapped range is written with an IPv6 prefix (::ffff:10.0.0.0/104).
    if (mappedFromV6) {
      if (prefix < 96 || prefix > 128) throw new InvalidAddressError(`"${printable(text)}": an IPv4-mapped prefix must be between 96 and 128`)
      prefix -= 96
    }
    if (prefix > width) throw new InvalidAddressError(`"${printable(text)}": the prefix length must be at most ${width}`)
  }
  if (!hostBitsAreZero(address.bytes, prefix)) {
    throw new InvalidAddressError(`"${printable(text)}" has host bits set; did you mean ${formatIpAddress({ family: address.family, bytes: maskBytes(address.bytes, prefix) })}/${prefix}?`)
  }
  return { ...address, prefix, text: `${formatIpAddress(address)}/${prefix}` }
}

/** Parses a comma-separated list of addresses/CIDRs (empty entries are ignored). */
export function parseCidrList(text: string): Cidr[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(parseCidr)
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8))
    out[i] = bytes[i]! & ((0xff << (8 - bits)) & 0xff)
  }
  return out
}

function hostBitsAreZero(bytes: Uint8Array, prefix: number): boolean {
  const masked = maskBytes(bytes, prefix)
  return masked.every((b, i) => b === bytes[i])
}

export function cidrContains(range: Cidr, address: IpAddress): boolean {
  if (range.family !== address.family) return false
  const full = range.prefix >> 3
  for (let i = 0; i < full; i++) if (range.bytes[i] !== address.bytes[i]) return false
  const rest = range.prefix & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (range.bytes[full]! & mask) === (address.bytes[full]! & mask)
}

export function anyCidrContains(ranges: readonly Cidr[], address: IpAddress): boolean {
  for (const range of ranges) if (cidrContains(range, address)) return true
  return false
}
