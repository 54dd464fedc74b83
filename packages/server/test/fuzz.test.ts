/**
 * Property tests (fast-check) of every parser on the request path (issue 3, "Tests"):
 * the Basic header, account ids, X-Forwarded-For and the socket address at the HTTP level,
 * and parseIpAddress / parseCidr / resolveClientIp as units. Whatever the input, the answer
 * is 200 for valid credentials or 400 with a contract code: never a 500, never a crash.
 */
import assert from 'node:assert/strict'
import { isIPv6 } from 'node:net'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { isValidAccountId } from '../src/accounts/account-id.js'
import { resolveClientIp } from '../src/http/client-ip.js'
import { parseBasicCredentials } from '../src/http/basic-auth.js'
import { InvalidAddressError, cidrContains, formatIpAddress, parseCidr, parseIpAddress, type IpAddress } from '../src/net/cidr.js'
import { basic, startTestApp, type TestApp } from './helpers/app.js'

const NUM_RUNS = 250
const CONTRACT_400 = new Set(['3000', '3001', '3002', '3003', '3004', '3005', '3006', '3007', '3008', '3009', '3010', '3011', '5001'])

interface Answer {
  statusCode: number
  body: string
  headers: Record<string, unknown>
}

/** 200 with a token, or 400 with `{"code","description"}` and a contract code. Returns the code. */
function assertContractAnswer(answer: Answer): string {
  if (answer.statusCode === 200) {
    const body = JSON.parse(answer.body) as Record<string, unknown>
    assert.deepEqual(Object.keys(body).sort(), ['accesstoken', 'expired', 'type'])
    return '200'
  }
  assert.equal(answer.statusCode, 400, `status ${answer.statusCode}: ${answer.body}`)
  assert.equal(answer.headers['content-type'], 'application/json; charset=utf-8')
  const body = JSON.parse(answer.body) as Record<string, unknown>
  assert.deepEqual(Object.keys(body).sort(), ['code', 'description'])
  assert.ok(CONTRACT_400.has(String(body.code)), `code ${String(body.code)}`)
  return String(body.code)
}

/** Text a header might carry: anything printable, the characters parsers split on, and raw noise. */
const headerText = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.constantFrom('Basic', 'basic', 'BASIC', ' ', '  ', ':', '=', '==', '+', '/', '-', '_', 'YQ', 'YWNtZTpwdw', 'Zm9v', '\t', ',', '%'), { maxLength: 12 }).map((parts) => parts.join('')),
)

describe('the request path under arbitrary input (app.inject)', () => {
  let t: TestApp
  let proxied: TestApp
  before(async () => {
    // Limits off, so every property sees the parsers' own answers rather than a lockout.
    const quiet = { lockoutThreshold: 0, ipFailureLimit: 0, rateLimit: 0 }
    t = await startTestApp(quiet)
    proxied = await startTestApp({ ...quiet, trustProxy: [parseCidr('127.0.0.0/8'), parseCidr('10.0.0.0/8'), parseCidr('::1')] })
    for (const app of [t, proxied]) {
      await app.createAccount('acme', 'correct horse', { allowIps: ['0.0.0.0/0', '::/0'] })
      await app.createAccount('local', 'pw')
    }
  })
  after(async () => {
    await t.close()
    await proxied.close()
  })

  it('any Authorization header string', async () => {
    await fc.assert(
      fc.asyncProperty(headerText, async (header) => {
        assertContractAnswer(await t.token(header))
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('any bytes, base64-encoded after "Basic "', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 120 }), fc.constantFrom('Basic ', 'basic ', 'Basic  ', 'Basic'), async (bytes, prefix) => {
        assertContractAnswer(await t.token(prefix + Buffer.from(bytes).toString('base64')))
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('any account id and password pair: 3004 exactly when the id is malformed, 200 only for the real pair', async () => {
    const accountId = fc.oneof(fc.string({ maxLength: 70 }), fc.stringMatching(/^[A-Za-z0-9._@-]{0,66}$/), fc.constantFrom('acme', 'ACME', 'acme ', ' acme', 'acme\u0000', 'ａｃｍｅ'))
    await fc.assert(
      fc.asyncProperty(accountId, fc.oneof(fc.string({ maxLength: 40 }), fc.constant('correct horse')), async (id, password) => {
        const answer = await t.token(basic(id, password))
        const code = assertContractAnswer(answer)
        if (id.includes(':')) return // the account ends at the first colon: another id was sent
        if (!isValidAccountId(id)) assert.equal(code, '3004', `id ${JSON.stringify(id)}`)
        else if (id === 'acme' && password === 'correct horse') assert.equal(code, '200')
        else assert.ok(['3006', '3007'].includes(code), `${JSON.stringify(id)}: ${code}`)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('the Basic parser agrees with an independent decoding of well-formed headers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (account, password) => {
        fc.pre(!account.includes(':'))
        const parsed = parseBasicCredentials(basic(account, password))
        assert.deepEqual(parsed, { account, password })
      }),
      { numRuns: NUM_RUNS },
    )
  })

  const hop = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4().map((ip) => `${ip}:${4711}`),
    fc.ipV6().map((ip) => `[${ip}]:443`),
    fc.ipV4().map((ip) => `::ffff:${ip}`),
    fc.constantFrom('10.0.0.1', '127.0.0.1', 'unknown', '', ' ', '_hidden', '1.2.3', '999.1.1.1', 'fe80::1%eth0', '[::1', '::1]'),
    fc.string({ maxLength: 20 }),
  )
  const forwardedFor = fc.oneof(
    fc.array(hop, { maxLength: 40 }).map((hops) => hops.join(', ')),
    fc.array(hop, { maxLength: 40 }).map((hops) => hops.join(',')),
    fc.string({ maxLength: 200 }),
  )

  it('any X-Forwarded-For behind a trusted proxy: 200, or 3003 when the deciding entry is unreadable', async () => {
    await fc.assert(
      fc.asyncProperty(forwardedFor, async (header) => {
        const answer = await proxied.token(basic('acme', 'correct horse'), { headers: { 'x-forwarded-for': header } })
        const code = assertContractAnswer(answer)
        assert.ok(['200', '3003'].includes(code), `${JSON.stringify(header)}: ${code}`)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('any socket address: 200 where it parses (allowed anywhere), 3003 where it does not', async () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 50 }), fc.constantFrom(' ', '::ffff:127.0.0.1', 'fe80::1%lo', 'localhost'))
    await fc.assert(
      fc.asyncProperty(address, async (remoteAddress) => {
        // light-my-request replaces an empty remoteAddress with 127.0.0.1; a real socket never has one.
        fc.pre(remoteAddress !== '')
        const code = assertContractAnswer(await t.token(basic('acme', 'correct horse'), { remoteAddress }))
        let parses = true
        try {
          parseIpAddress(remoteAddress)
        } catch {
          parses = false
        }
        assert.equal(code, parses ? '200' : '3003', JSON.stringify(remoteAddress))
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('the allow-list decides on any socket address: 200 only for 127.0.0.1 and its mapped form', async () => {
    const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('127.0.0.1', '::ffff:127.0.0.1', '127.0.0.2', '::1'))
    await fc.assert(
      fc.asyncProperty(address, async (remoteAddress) => {
        const code = assertContractAnswer(await t.token(basic('local', 'pw'), { remoteAddress }))
        const local = formatIpAddress(parseIpAddress(remoteAddress)) === '127.0.0.1'
        assert.equal(code, local ? '200' : '3010', remoteAddress)
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

describe('IP and CIDR parsing (units)', () => {
  const addressLike = fc.oneof(
    fc.string({ maxLength: 70 }),
    fc.array(fc.constantFrom('0', '1', '9', 'f', 'F', 'ffff', '255', '256', '.', ':', '::', '/', '%', ' ', '[', ']', '-', '0x1', '1e3', '32', '128'), { maxLength: 20 }).map((parts) => parts.join('')),
  )

  it('parseIpAddress and parseCidr throw nothing but InvalidAddressError', () => {
    fc.assert(
      fc.property(addressLike, (text) => {
        for (const parse of [parseIpAddress, parseCidr]) {
          try {
            parse(text)
          } catch (error) {
            assert.ok(error instanceof InvalidAddressError, `${parse.name}(${JSON.stringify(text)}) threw ${String(error)}`)
            assert.ok((error as Error).message.length < 200)
          }
        }
      }),
      { numRuns: NUM_RUNS * 4 },
    )
  })

  it('IPv4 addresses round-trip exactly', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        const parsed = parseIpAddress(text)
        assert.equal(parsed.family, 4)
        assert.equal(formatIpAddress(parsed), text)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('IPv6 addresses format as the WHATWG URL parser canonicalises them (RFC 5952), and round-trip', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const parsed = parseIpAddress(text)
        const formatted = formatIpAddress(parsed)
        assert.deepEqual(parseIpAddress(formatted), parsed)
        if (parsed.family === 6) {
          assert.ok(isIPv6(formatted))
          assert.equal(`[${formatted}]`, new URL(`http://[${text}]/`).hostname)
        }
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('an IPv4-mapped IPv6 address is its IPv4 address, as an address and as a range', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.boolean(), (text, prefix, upper) => {
        const mapped = `${upper ? '::FFFF:' : '::ffff:'}${text}`
        assert.deepEqual(parseIpAddress(mapped), parseIpAddress(text))
        const network = parseCidr(`${text}/32`)
        const masked = maskedText(parseIpAddress(text), prefix)
        assert.equal(parseCidr(`::ffff:${masked}/${96 + prefix}`).text, parseCidr(`${masked}/${prefix}`).text)
        assert.ok(cidrContains(parseCidr(`${masked}/${prefix}`), parseIpAddress(mapped)))
        assert.equal(network.text, `${text}/32`)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('a CIDR range parses to canonical text that parses to itself and contains its own network address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 128 }), (text, rawPrefix) => {
        const address = parseIpAddress(text)
        const prefix = Math.min(rawPrefix, address.family === 4 ? 32 : 128)
        const range = parseCidr(`${maskedText(address, prefix)}/${prefix}`)
        assert.equal(parseCidr(range.text).text, range.text)
        assert.equal(range.prefix, prefix)
        assert.ok(cidrContains(range, address), `${range.text} contains ${text}`)
        if (prefix < (address.family === 4 ? 32 : 128)) {
          // host bits set is a typo, refused rather than silently cleared
          const withHostBit = flipLastBit(range)
          assert.throws(() => parseCidr(`${formatIpAddress(withHostBit)}/${prefix}`), InvalidAddressError)
        }
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

describe('resolveClientIp (unit)', () => {
  const trusted = [parseCidr('10.0.0.0/8'), parseCidr('::1')]
  const anyIp = fc.oneof(fc.ipV4(), fc.ipV6())
  const untrustedV4 = fc.ipV4().filter((ip) => !ip.startsWith('10.'))

  it('never throws, and without trusted proxies is always the socket address', () => {
    fc.assert(
      fc.property(fc.oneof(anyIp, fc.string({ maxLength: 30 })), fc.oneof(fc.string({ maxLength: 100 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 })), (socket, header) => {
        const plain = resolveClientIp(socket, header, [])
        let expected: IpAddress | undefined
        try {
          expected = parseIpAddress(socket)
        } catch {
          expected = undefined
        }
        assert.deepEqual(plain, expected)
        resolveClientIp(socket, header, trusted)
      }),
      { numRuns: NUM_RUNS * 2 },
    )
  })

  it('behind trusted proxies, picks the rightmost untrusted entry, whatever a client wrote before it', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 20 }), { maxLength: 5 }), untrustedV4, fc.array(fc.ipV4().map((ip) => `10.${ip.split('.').slice(1).join('.')}`), { maxLength: 5 }), (spoofed, client, proxies) => {
        const header = [...spoofed, client, ...proxies].join(', ')
        const resolved = resolveClientIp('10.0.0.1', header, trusted)
        assert.ok(resolved)
        assert.equal(formatIpAddress(resolved), client)
      }),
      { numRuns: NUM_RUNS },
    )
  })

  it('the answer is the socket address or one of the forwarded entries, never an invented one', () => {
    fc.assert(
      fc.property(fc.constantFrom('10.0.0.1', '::1', '192.0.2.1'), fc.array(fc.oneof(anyIp, fc.constantFrom('garbage', '', '10.1.1.1')), { maxLength: 8 }), (socket, hops) => {
        const resolved = resolveClientIp(socket, hops.join(','), trusted)
        if (resolved === undefined) return
        const candidates = [socket, ...hops].flatMap((text) => {
          try {
            return [formatIpAddress(parseIpAddress(text))]
          } catch {
            return []
          }
        })
        assert.ok(candidates.includes(formatIpAddress(resolved)))
      }),
      { numRuns: NUM_RUNS },
    )
  })
})

function maskedText(address: IpAddress, prefix: number): string {
  const bytes = new Uint8Array(address.bytes.length)
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8))
    bytes[i] = address.bytes[i]! & ((0xff << (8 - bits)) & 0xff)
  }
  return formatIpAddress({ family: address.family, bytes })
}

function flipLastBit(address: IpAddress): IpAddress {
  const bytes = Uint8Array.from(address.bytes)
  bytes[bytes.length - 1]! ^= 1
  return { family: address.family, bytes }
}
