/**
 * Compact JWS signing (RFC 7515 §7.1) with node:crypto directly.
 *
 * jose produces the same bytes, and jose still does everything else here: key generation, JWK
 * import and export, thumbprints, and every verification (the tests check our tokens with
 * jose against the published JWKS). Signing is the one step on the hot path of every token,
 * and jose 6 signs through WebCrypto, which cost ~130 µs of CPU per token in the benchmark
 * against ~57 µs for node:crypto; with the callback form of `crypto.sign` the Ed25519/ECDSA
 * work also leaves the event loop for libuv's pool. The protected header is fixed per key,
 * so its segment is encoded once.
 */
import { createHmac, createPrivateKey, createSecretKey, sign, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { KeyAlgorithm } from '../store/store.js'

export interface JwsSigner {
  /** `BASE64URL(header)`, the same for every token of this key. */
  readonly headerSegment: string
  /** Signs `payload` (a JSON object) and returns the compact serialization. */
  signJwt(payload: object): Promise<string>
}

export function createJwsSigner(kid: string, alg: KeyAlgorithm, privateJwk: JWK): JwsSigner {
  const headerSegment = Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT' })).toString('base64url')
  const signInput = signatureFunction(alg, privateJwk)
  return {
    headerSegment,
    async signJwt(payload) {
      const input = `${headerSegment}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
      const signature = await signInput(Buffer.from(input))
      return `${input}.${signature.toString('base64url')}`
    },
  }
}

function signatureFunction(alg: KeyAlgorithm, jwk: JWK): (input: Buffer) => Promise<Buffer> {
  switch (alg) {
    case 'HS256': {
      const secret = createSecretKey(Buffer.from(jwk.k ?? '', 'base64url'))
      // HMAC takes ~3 µs: a trip through the pool would cost more than it saves.
      return async (input) => createHmac('sha256', secret).update(input).digest()
    }
    case 'EdDSA':
      return asyncSign(null, createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }), undefined)
    case 'ES256':
      // JWS wants R‖S (RFC 7518 §3.4), not DER.
      return asyncSign('sha256', createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }), 'ieee-p1363')
  }
}

function asyncSign(digest: string | null, key: KeyObject, dsaEncoding: 'ieee-p1363' | undefined): (input: Buffer) => Promise<Buffer> {
  const keyInput = dsaEncoding ? { key, dsaEncoding } : key
  return (input) =>
    new Promise((resolve, reject) => {
      sign(digest, input, keyInput, (error, signature) => (error ? reject(error) : resolve(signature)))
    })
}
