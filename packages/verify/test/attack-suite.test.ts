import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createVerifier, type PublicJwk, type Verifier } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { startFakeBizauthServer, type FakeBizauthServer } from './support/fake-bizauth-server.js'
import {
  b64url, createSigningKey, ed25519Signature, eventually, hmacSignature, issueToken, newJti, nowSeconds, rawToken,
  standardClaims, type SigningKey,
} from './support/tokens.js'

// The issue's attack suite: hostile tokens built here, each of which must be refused with 3002
// (or 3005 where the header itself is malformed), against a verifier wired the way a resource
// server wires it: JWKS over HTTP and the revocations feed.
describe('attack suite', () => {
  let server: FakeBizauthServer
  let key: SigningKey
  let attackerKey: SigningKey
  let verifier: Verifier

  before(async () => {
    key = await createSigningKey('key-1')
    attackerKey = await createSigningKey('key-1') // same kid, other key
    server = await startFakeBizauthServer([key.publicJwk])
    verifier = createVerifier({
      issuer: 'bizauth-test',
      jwksUrl: server.jwksUrl,
      revocations: { url: server.url, credentials: server.credentials, pollIntervalMs: 50 },
      clockToleranceSeconds: 5,
    })
  })
  after(async () => {
    verifier.close()
    await server.close()
  })

  const bearer = (token: string) => `Bearer ${token}`

  it('accepts a genuine token and resolves to its claims', async () => {
    const token = await issueToken(key, { sub: 'acme' })
    const claims = await verifier(bearer(token))
    assert.equal(claims.sub, 'acme')
    assert.equal(claims.iss, 'bizauth-test')
    assert.ok(Object.isFrozen(claims))
  })

  it('refuses alg "none" in every spelling, with or without a signature', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const token = rawToken({ alg, kid: 'key-1', typ: 'JWT' }, standardClaims(), '')
      await assertRejects(verifier(bearer(token)), '3002', 'alg_not_allowed', token)
      const withSignature = rawToken({ alg, typ: 'JWT' }, standardClaims(), b64url('x'.repeat(64)))
      await assertRejects(verifier(bearer(withSignature)), '3002', 'alg_not_allowed', withSignature)
    }
  })

  it('refuses HS256 signed with the public key bytes (algorithm confusion)', async () => {
    const x = String(key.publicJwk.x)
    const secrets: Array<Buffer | string> = [Buffer.from(x, 'base64url'), x, JSON.stringify(key.publicJwk)]
    for (const secret of secrets) {
      const header = b64url({ alg: 'HS256', kid: 'key-1', typ: 'JWT' })
      const payload = b64url(standardClaims())
      const token = `${header}.${payload}.${hmacSignature(secret, `${header}.${payload}`)}`
      await assertRejects(verifier(bearer(token)), '3002', 'alg_mismatch', token)
    }
  })

  it('refuses an algorithm the key does not have (ES256 header on an Ed25519 kid)', async () => {
    const token = rawToken({ alg: 'ES256', kid: 'key-1' }, standardClaims(), b64url(Buffer.alloc(64, 1)))
    await assertRejects(verifier(bearer(token)), '3002', 'alg_mismatch', token)
    const rs = rawToken({ alg: 'RS256', kid: 'key-1' }, standardClaims(), b64url(Buffer.alloc(256, 1)))
    await assertRejects(verifier(bearer(rs)), '3002', 'alg_not_allowed', rs)
  })

  it('refuses a swapped payload', async () => {
    const mine = (await issueToken(key, { sub: 'acme' })).split('.')
    const theirs = (await issueToken(key, { sub: 'admin' })).split('.')
    const token = `${mine[0]}.${theirs[1]}.${mine[2]}`
    await assertRejects(verifier(bearer(token)), '3002', 'bad_signature', token)
  })

  it('refuses a truncated or emptied signature', async () => {
    const token = await issueToken(key)
    for (const cut of [1, 2, 4, 40]) {
      const truncated = token.slice(0, -cut)
      await assertRejects(verifier(bearer(truncated)), '3002', undefined, truncated)
    }
    const emptied = token.slice(0, token.lastIndexOf('.') + 1)
    await assertRejects(verifier(bearer(emptied)), '3002', 'bad_signature', emptied)
  })

  it('refuses a token signed by another key under the same kid', async () => {
    const token = await issueToken(attackerKey)
    await assertRejects(verifier(bearer(token)), '3002', 'bad_signature', token)
  })

  it('refuses unknown kids, including path and SQL syntax, and a missing or non-string kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    for (const kid of ['nope', '../../etc/passwd', "' OR 1=1 --", '%2e%2e%2f', '\u0000', 'constructor', '__proto__']) {
      const header = b64url({ alg: 'EdDSA', kid, typ: 'JWT' })
      const payload = b64url(standardClaims())
      const token = `${header}.${payload}.${ed25519Signature(privateKey, `${header}.${payload}`)}`
      await assertRejects(verifier(bearer(token)), '3002', 'unknown_kid', token)
    }
    const noKid = rawToken({ alg: 'EdDSA' }, standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(noKid)), '3002', 'unknown_kid', noKid)
    const numericKid = rawToken({ alg: 'EdDSA', kid: 1 }, standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(numericKid)), '3002', 'malformed', numericKid)
  })

  it('refuses expired, not yet valid and future-issued tokens, and a wrong or missing issuer', async () => {
    const now = nowSeconds()
    const expired = await issueToken(key, { iat: now - 90_000, exp: now - 3600 })
    await assertRejects(verifier(bearer(expired)), '3002', 'expired', expired)
    const notYet = await issueToken(key, { nbf: now + 3600 })
    await assertRejects(verifier(bearer(notYet)), '3002', 'not_yet_valid', notYet)
    const future = await issueToken(key, { iat: now + 3600 })
    await assertRejects(verifier(bearer(future)), '3002', 'issued_in_future', future)
    const wrongIssuer = await issueToken(key, { iss: 'evil' })
    await assertRejects(verifier(bearer(wrongIssuer)), '3002', 'bad_issuer', wrongIssuer)
    const longLived = await issueToken(key, { exp: now + 10 * 86_400 })
    await assertRejects(verifier(bearer(longLived)), '3002', 'lifetime_too_long', longLived)
  })

  it('accepts a token just inside the clock tolerance and refuses it just outside', async () => {
    const now = nowSeconds()
    const inside = await issueToken(key, { iat: now - 86_000, exp: now - 2 })
    assert.equal((await verifier(bearer(inside))).exp, now - 2)
    const outside = await issueToken(key, { iat: now - 86_000, exp: now - 10 })
    await assertRejects(verifier(bearer(outside)), '3002', 'expired', outside)
  })

  it('refuses a token revoked by jti, by account, and one issued before a password change', async () => {
    const now = nowSeconds()
    const byJti = await issueToken(key, { sub: 'one' })
    const byAccount = await issueToken(key, { sub: 'two' })
    const beforePasswordChange = await issueToken(key, { sub: 'three', iat: now - 60 })
    const afterPasswordChange = await issueToken(key, { sub: 'three', iat: now + 1 })
    for (const token of [byJti, byAccount, beforePasswordChange]) await verifier(bearer(token))

    server.revokeJti(JSON.parse(Buffer.from(byJti.split('.')[1]!, 'base64url').toString()).jti, now + 86_400)
    server.revokeAccount('two', now + 1)
    server.revokeAccount('three', now) // what the server records when the password changes
    const isRejected = (token: string) => verifier(bearer(token)).then(() => false, () => true)
    await eventually(async () => (await isRejected(byJti)) && (await isRejected(byAccount)) && (await isRejected(beforePasswordChange)), 5000, 'revocations seen')
    for (const token of [byJti, byAccount, beforePasswordChange]) await assertRejects(verifier(bearer(token)), '3002', 'revoked', token)
    assert.equal((await verifier(bearer(afterPasswordChange))).sub, 'three')
  })

  it('refuses a 1 MB token before parsing it', async () => {
    const token = `${'a'.repeat(512 * 1024)}.${'b'.repeat(512 * 1024)}.c`
    await assertRejects(verifier(bearer(token)), '3002', 'too_large', token)
    const garbage = 'x y!'.repeat(256 * 1024)
    await assertRejects(verifier(bearer(garbage)), '3002', 'too_large', garbage)
  })

  it('refuses non-JSON segments, even under a valid signature', async () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const notJsonHeader = rawToken('not json', standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(notJsonHeader)), '3002', 'bad_json', notJsonHeader)
    const arrayHeader = rawToken('["EdDSA"]', standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(arrayHeader)), '3002', 'bad_json', arrayHeader)
    const invalidUtf8 = `${b64url(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))}.${b64url(standardClaims())}.${b64url(Buffer.alloc(64))}`
    await assertRejects(verifier(bearer(invalidUtf8)), '3002', 'bad_json', invalidUtf8)
    // A payload that is not JSON, correctly signed by a trusted key: only the JSON check stops it.
    const offline = createVerifier({ issuer: 'bizauth-test', keys: [{ ...exportPublic(privateKey), kid: 'signer' }] })
    const header = b64url({ alg: 'EdDSA', kid: 'signer' })
    for (const body of ['hello', '42', 'null', '"string"', '[1,2]', '{"a":1']) {
      const payload = b64url(body)
      const token = `${header}.${payload}.${ed25519Signature(privateKey, `${header}.${payload}`)}`
      await assertRejects(offline(bearer(token)), '3002', 'bad_json', token)
    }
  })

  it('refuses bad base64url: padding, standard-alphabet characters, impossible lengths, non-canonical bits', async () => {
    const token = await issueToken(key)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    // "=" inside the credential is not even RFC 6750 b64token syntax: a malformed header.
    await assertRejects(verifier(bearer(`${header}=.${payload}.${signature}`)), '3005', 'malformed_header')
    const variants = [
      `${header}.${payload}.${signature}==`,
      `${header.replace(/-|_/g, '+')}+.${payload}.${signature}`,
      `${header}.${payload}.${signature.slice(0, -1)}/`,
      `${header}.${payload}.a`, // a length no base64 can have
      `${header}.${payload}.${signature.slice(0, -1)}${nonCanonicalLast(signature)}`,
      `${header}.${payload}~.${signature}`,
    ]
    for (const variant of variants) await assertRejects(verifier(bearer(variant)), '3002', undefined, variant)
  })

  it('refuses the wrong number of segments and an unknown crit extension', async () => {
    const token = await issueToken(key)
    const [header, payload, signature] = token.split('.') as [string, string, string]
    for (const shape of [`${header}.${payload}`, header, `${token}.${signature}`, `.${payload}.${signature}`, `${header}..${signature}`, '...']) {
      await assertRejects(verifier(bearer(shape)), '3002', undefined, shape)
    }
    const crit = rawToken({ alg: 'EdDSA', kid: 'key-1', crit: ['exp'], exp: 1 }, standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(crit)), '3002', 'crit_unsupported', crit)
    const unencoded = rawToken({ alg: 'EdDSA', kid: 'key-1', b64: false }, standardClaims(), b64url(Buffer.alloc(64)))
    await assertRejects(verifier(bearer(unencoded)), '3002', 'crit_unsupported', unencoded)
  })

  it('answers 3005 for a header that is not "Bearer <b64token>"', async () => {
    const token = await issueToken(key)
    await assertRejects(verifier(undefined), '3005', 'missing_header')
    await assertRejects(verifier(''), '3005', 'missing_header')
    await assertRejects(verifier(['Bearer x.y.z']), '3005', 'malformed_header')
    await assertRejects(verifier(`Basic ${token}`), '3005', 'not_bearer', token)
    await assertRejects(verifier(token), '3005', 'not_bearer', token)
    await assertRejects(verifier(`Bearer  ${token}`), '3005', 'malformed_header', token)
    await assertRejects(verifier(`Bearer ${token} `), '3005', 'malformed_header', token)
    await assertRejects(verifier(`Bearer\t${token}`), '3005', 'not_bearer', token)
    await assertRejects(verifier('Bearer '), '3005', 'malformed_header')
    await assertRejects(verifier('Bearer'), '3005', 'not_bearer')
    await assertRejects(verifier(`Bearer ${token}!`), '3005', 'malformed_header', token)
    // The scheme is case-insensitive (RFC 7235 §2.1).
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) assert.equal((await verifier(`${scheme} ${token}`)).sub, 'acme')
  })

  it('never puts the token in the error, even for a valid-looking but revoked or expired one', async () => {
    const now = nowSeconds()
    const token = await issueToken(key, { iat: now - 90_000, exp: now - 3600, jti: newJti() })
    const error = await assertRejects(verifier(bearer(token)), '3002', 'expired', token)
    assert.deepEqual(JSON.parse(JSON.stringify(error)), { code: '3002', description: 'The token is invalid.' })
  })
})

function nonCanonicalLast(signature: string): string {
  // An 86-character segment carries 4 unused bits in its last character; setting one of them
  // spells the same bytes differently.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(signature.at(-1)!)
  return alphabet[last ^ 1]!
}

function exportPublic(privateKey: KeyObject): PublicJwk {
  return createPublicKey(privateKey).export({ format: 'jwk' }) as PublicJwk
}
