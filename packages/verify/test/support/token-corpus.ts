/**
 * The corpus of tokens that defines, by example, what a valid bizauth token is: the attack
 * suite's hostile tokens and the edge cases of the rules, each with the verdict it must get.
 *
 * Built here once and used twice: by this package's attack suite against a verifier, and by the
 * server's token-core test against introspection and a verifier side by side (imported there as
 * `@bizauth/verify/test-support`, an entry of the workspace build that is not published). So the
 * tokens are signed with whatever key the caller trusts: a test key here, the server's real
 * signing key there.
 */
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign, type JsonWebKey } from 'node:crypto'
import type { HeaderFailureReason, TokenFailureReason } from '../../src/core.js'

/** A private key the verifier under test trusts under `kid`, and how to sign with it. */
export interface CorpusSigner {
  readonly kid: string
  readonly alg: 'EdDSA' | 'ES256'
  /** The public half as a JWK: its bytes are what the algorithm-confusion tokens abuse. */
  readonly publicJwk: Readonly<Record<string, unknown>>
  /** The base64url signature of `signingInput`. */
  sign(signingInput: string): string
}

export interface TokenCorpusContext {
  readonly signer: CorpusSigner
  /** The `iss` the verifier expects. */
  readonly issuer: string
  /** An account the verifier knows (the server checks that it exists). */
  readonly sub: string
  readonly nowSeconds: number
}

export interface RefusedToken {
  /** Tokens of one group are one test of the attack suite. */
  readonly group: string
  readonly name: string
  readonly token: string
  /** 3005 only where the credential is not even RFC 6750 `b64token`: the header is malformed. */
  readonly code: '3002' | '3005'
  /** Left out where which check fires first is the implementation's business, not the rule's. */
  readonly reason?: TokenFailureReason | HeaderFailureReason
}

export interface AcceptedToken {
  readonly name: string
  readonly token: string
}

/** Ed25519 or P-256, from a node:crypto KeyObject or a WebCrypto CryptoKey (jose's keys). */
export function corpusSigner(kid: string, key: KeyObject | CryptoKey | JsonWebKey): CorpusSigner {
  const privateKey = key instanceof KeyObject ? key : isJwk(key) ? createPrivateKey({ key, format: 'jwk' }) : KeyObject.from(key)
  const publicJwk = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>
  if (privateKey.asymmetricKeyType === 'ed25519') {
    return { kid, alg: 'EdDSA', publicJwk, sign: (input) => sign(null, Buffer.from(input), privateKey).toString('base64url') }
  }
  if (privateKey.asymmetricKeyType === 'ec') {
    const ecKey = { key: privateKey, dsaEncoding: 'ieee-p1363' as const }
    return { kid, alg: 'ES256', publicJwk, sign: (input) => sign('sha256', Buffer.from(input), ecKey).toString('base64url') }
  }
  throw new TypeError('the corpus signs with Ed25519 or P-256 keys')
}

export function b64url(value: string | Buffer | object): string {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))
  return bytes.toString('base64url')
}

/** A compact JWS of any header and payload, hostile ones included, with the given signature segment. */
export function rawToken(header: object | string, payload: object | string, signature: string): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`
}

export function hmacSignature(secret: Buffer | string, signingInput: string): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url')
}

/** `header` and `payload` signed by `signer`, whatever they say. */
export function signedToken(signer: CorpusSigner, header: object | string, payload: object | string): string {
  const signingInput = `${b64url(header)}.${b64url(payload)}`
  return `${signingInput}.${signer.sign(signingInput)}`
}

/** The claims bizauth issues (wire.md), with overrides; `exp` follows `iat` by 24 h. */
export function bizauthClaims(context: TokenCorpusContext, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = typeof overrides.iat === 'number' ? overrides.iat : context.nowSeconds
  return { iss: context.issuer, sub: context.sub, iat, exp: iat + 86_400, jti: randomBytes(16).toString('hex'), ...overrides }
}

/** The header bizauth signs with. */
export function bizauthHeader(signer: CorpusSigner, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: signer.alg, kid: signer.kid, typ: 'JWT', ...overrides }
}

/** A genuine token of `context.sub`, or one whose claims or header say otherwise, signed by the trusted key. */
export function genuineToken(context: TokenCorpusContext, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return signedToken(context.signer, bizauthHeader(context.signer, header), bizauthClaims(context, claims))
}

/**
 * Tokens that must pass: the edges of the rules, on the accepting side. None of them turns bad
 * while a slow test runs (the exp-side edge is a test of its own, checked at once).
 */
export function acceptedTokens(context: TokenCorpusContext): AcceptedToken[] {
  const now = context.nowSeconds
  return [
    { name: 'a plain valid token', token: genuineToken(context) },
    { name: 'typ missing (RFC 7519 §5.1: optional)', token: genuineToken(context, {}, { typ: undefined }) },
    { name: 'typ "jwt" (RFC 7515 §4.1.9: media types compare case-insensitively)', token: genuineToken(context, {}, { typ: 'jwt' }) },
    { name: 'typ "application/JWT"', token: genuineToken(context, {}, { typ: 'application/JWT' }) },
    { name: 'iat just inside the clock tolerance', token: genuineToken(context, { iat: now + 2 }) },
    { name: 'a lifetime of 24 h plus the tolerance', token: genuineToken(context, { iat: now, exp: now + 86_400 + 5 }) },
  ]
}

/** Tokens that must be refused, with the contract code and, where the rule fixes it, the reason. */
export function refusedTokens(context: TokenCorpusContext): RefusedToken[] {
  const { signer } = context
  const now = context.nowSeconds
  const claims = (overrides: Record<string, unknown> = {}) => bizauthClaims(context, overrides)
  const refused: RefusedToken[] = []
  const add = (group: string, name: string, token: string, reason?: RefusedToken['reason'], code: RefusedToken['code'] = '3002') =>
    refused.push({ group, name, token, code, ...(reason === undefined ? {} : { reason }) })

  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    add('alg-none', `alg "${alg}", no signature`, rawToken({ alg, kid: signer.kid, typ: 'JWT' }, claims(), ''), 'alg_not_allowed')
    add('alg-none', `alg "${alg}", a signature, no kid`, rawToken({ alg, typ: 'JWT' }, claims(), b64url('x'.repeat(64))), 'alg_not_allowed')
  }

  // HS256 "signed" with the public key's bytes: the classic algorithm confusion (RFC 8725 §2.1).
  const publicBytes = String(signer.publicJwk.x)
  for (const [name, secret] of [['x bytes', Buffer.from(publicBytes, 'base64url')], ['x text', publicBytes], ['the JWK', JSON.stringify(signer.publicJwk)]] as const) {
    const signingInput = `${b64url({ alg: 'HS256', kid: signer.kid, typ: 'JWT' })}.${b64url(claims())}`
    add('alg-confusion', `HS256 keyed with ${name}`, `${signingInput}.${hmacSignature(secret, signingInput)}`, 'alg_mismatch')
  }

  const otherAlg = signer.alg === 'EdDSA' ? 'ES256' : 'EdDSA'
  add('alg-mismatch', `${otherAlg} header on a ${signer.alg} kid`, rawToken({ alg: otherAlg, kid: signer.kid }, claims(), b64url(Buffer.alloc(64, 1))), 'alg_mismatch')
  add('alg-mismatch', 'RS256 header', rawToken({ alg: 'RS256', kid: signer.kid }, claims(), b64url(Buffer.alloc(256, 1))), 'alg_not_allowed')

  const mine = genuineToken(context).split('.')
  const theirs = genuineToken(context, { sub: 'admin' }).split('.')
  add('swapped-payload', "another token's payload under my signature", `${mine[0]}.${theirs[1]}.${mine[2]}`, 'bad_signature')

  const genuine = genuineToken(context)
  for (const cut of [1, 2, 4, 40]) add('truncated-signature', `signature cut by ${cut}`, genuine.slice(0, -cut))
  add('truncated-signature', 'signature emptied', genuine.slice(0, genuine.lastIndexOf('.') + 1), 'bad_signature')

  add('other-key', 'signed by another key under the same kid', signedToken(attackerSigner(signer), bizauthHeader(signer), claims()), 'bad_signature')

  const stranger = corpusSigner('stranger', generateKeyPairSync('ed25519').privateKey)
  for (const kid of ['nope', '../../etc/passwd', "' OR 1=1 --", '%2e%2e%2f', '\u0000', 'constructor', '__proto__', 'k'.repeat(200)]) {
    add('unknown-kid', `kid ${JSON.stringify(kid.slice(0, 20))}`, signedToken(stranger, { alg: 'EdDSA', kid, typ: 'JWT' }, claims()), 'unknown_kid')
  }
  add('unknown-kid', 'no kid', rawToken({ alg: signer.alg }, claims(), b64url(Buffer.alloc(64))), 'unknown_kid')
  add('unknown-kid', 'a numeric kid', rawToken({ alg: signer.alg, kid: 1 }, claims(), b64url(Buffer.alloc(64))), 'malformed')

  add('claims', 'expired an hour ago', genuineToken(context, { iat: now - 90_000, exp: now - 3600 }), 'expired')
  add('claims', 'exp just outside the clock tolerance', genuineToken(context, { iat: now - 86_000, exp: now - 10 }), 'expired')
  add('claims', 'nbf in an hour', genuineToken(context, { nbf: now + 3600 }), 'not_yet_valid')
  add('claims', 'iat in an hour', genuineToken(context, { iat: now + 3600 }), 'issued_in_future')
  add('claims', 'iat 10 minutes in the future', genuineToken(context, { iat: now + 600 }), 'issued_in_future')
  add('claims', 'a wrong issuer', genuineToken(context, { iss: 'evil' }), 'bad_issuer')
  add('claims', 'no issuer', genuineToken(context, { iss: undefined }), 'missing_claim')
  add('claims', 'a 25-hour lifetime', genuineToken(context, { iat: now, exp: now + 25 * 3600 }), 'lifetime_too_long')
  add('claims', 'a 10-day lifetime', genuineToken(context, { exp: now + 10 * 86_400 }), 'lifetime_too_long')
  add('claims', 'no jti', genuineToken(context, { jti: undefined }), 'missing_claim')
  add('claims', 'exp as a string', genuineToken(context, { exp: String(now + 3600) }), 'missing_claim')
  add('claims', 'an empty sub', genuineToken(context, { sub: '' }), 'missing_claim')

  add('typ', 'typ "at+jwt" (RFC 9068 access token, not ours)', genuineToken(context, {}, { typ: 'at+jwt' }), 'typ_not_allowed')
  add('typ', 'typ "JOSE"', genuineToken(context, {}, { typ: 'JOSE' }), 'typ_not_allowed')
  add('typ', 'typ as a number', genuineToken(context, {}, { typ: 1 }), 'typ_not_allowed')

  add('too-large', 'a 1 MB token', `${'a'.repeat(512 * 1024)}.${'b'.repeat(512 * 1024)}.c`, 'too_large')
  add('too-large', 'a 1 MB credential that is not even b64token', 'x y!'.repeat(256 * 1024), 'too_large')

  add('bad-json', 'a header that is not JSON', rawToken('not json', claims(), b64url(Buffer.alloc(64))), 'bad_json')
  add('bad-json', 'a header that is an array', rawToken('["EdDSA"]', claims(), b64url(Buffer.alloc(64))), 'bad_json')
  add('bad-json', 'a header in invalid UTF-8', `${b64url(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))}.${b64url(claims())}.${b64url(Buffer.alloc(64))}`, 'bad_json')
  // Correctly signed by the trusted key: only the JSON check stops these.
  for (const body of ['hello', '42', 'null', '"string"', '[1,2]', '{"a":1']) {
    add('bad-json', `a signed payload ${JSON.stringify(body)}`, signedToken(signer, bizauthHeader(signer), body), 'bad_json')
  }

  const [header, payload, signature] = genuineToken(context).split('.') as [string, string, string]
  // "=" inside the credential is not even RFC 6750 b64token syntax: a malformed header.
  add('bad-base64url', 'padding inside the header segment', `${header}=.${payload}.${signature}`, 'malformed_header', '3005')
  add('bad-base64url', 'padding after the signature', `${header}.${payload}.${signature}==`)
  add('bad-base64url', 'standard-alphabet "+"', `${header.replace(/-|_/g, '+')}+.${payload}.${signature}`)
  add('bad-base64url', 'standard-alphabet "/"', `${header}.${payload}.${signature.slice(0, -1)}/`)
  add('bad-base64url', 'a length no base64 can have', `${header}.${payload}.a`)
  add('bad-base64url', 'non-canonical trailing bits', `${header}.${payload}.${signature.slice(0, -1)}${nonCanonicalLast(signature)}`)
  add('bad-base64url', '"~" in the payload', `${header}.${payload}~.${signature}`)

  for (const [name, shape] of [
    ['two segments', `${header}.${payload}`],
    ['one segment', header],
    ['four segments', `${header}.${payload}.${signature}.${signature}`],
    ['an empty header', `.${payload}.${signature}`],
    ['an empty payload', `${header}..${signature}`],
    ['only dots', '...'],
  ] as const) {
    add('segments', name, shape)
  }
  add('extensions', 'an unknown crit extension', rawToken({ alg: signer.alg, kid: signer.kid, crit: ['exp'], exp: 1 }, claims(), b64url(Buffer.alloc(64))), 'crit_unsupported')
  add('extensions', 'b64:false (RFC 7797)', rawToken({ alg: signer.alg, kid: signer.kid, b64: false }, claims(), b64url(Buffer.alloc(64))), 'crit_unsupported')
  return refused
}

/** A new key of the signer's kind that claims the signer's kid. */
function attackerSigner(signer: CorpusSigner): CorpusSigner {
  const { privateKey } = signer.alg === 'EdDSA' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return corpusSigner(signer.kid, privateKey)
}

/**
 * An 86-character segment carries 4 unused bits in its last character; setting one of them
 * spells the same bytes differently.
 */
function nonCanonicalLast(signature: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return alphabet[alphabet.indexOf(signature.at(-1)!) ^ 1]!
}

function isJwk(value: unknown): value is JsonWebKey {
  return typeof value === 'object' && value !== null && 'kty' in value
}
