import { createHmac, createPublicKey, createSecretKey, KeyObject, timingSafeEqual, verify as cryptoVerify } from 'node:crypto'

/**
 * The algorithms bizauth signs with (wire.md, "Access tokens"). A key verifies exactly one of
 * them, derived from the key itself and never from the token, so that a token cannot choose
 * how it is checked (RFC 8725 §2.1, algorithm confusion).
 */
export type SupportedAlgorithm = 'EdDSA' | 'ES256' | 'HS256'

export interface VerificationKey {
  /** `undefined` for a key given without one: it then answers tokens of any `kid`. */
  readonly kid: string | undefined
  readonly alg: SupportedAlgorithm
  verifySignature(signingInput: Buffer, signature: Buffer): boolean
}

/** A public JWK as published in `/.well-known/jwks.json` (wire.md). */
export interface PublicJwk {
  kty: string
  kid?: string
  alg?: string
  use?: string
  crv?: string
  x?: string
  y?: string
  [parameter: string]: unknown
}

/** What `keys` accepts: a JWK, a node:crypto KeyObject or a WebCrypto CryptoKey, with an optional kid. */
export type KeyInput = PublicJwk | KeyObject | CryptoKey | { kid?: string; key: KeyObject | CryptoKey | PublicJwk }

const MIN_HMAC_KEY_BYTES = 32 // RFC 7518 §3.2: at least the size of the hash output

/**
 * Imports a published JWK. `allowSecret` is true only for keys the user passes in `keys`
 * explicitly; a fetched JWKS never makes an HMAC secret out of what a server published.
 */
export function importJwk(jwk: unknown, allowSecret: boolean): VerificationKey {
  if (typeof jwk !== 'object' || jwk === null) throw new TypeError('a JWK must be an object')
  const { kty, crv, kid, alg, use } = jwk as PublicJwk
  if (kid !== undefined && typeof kid !== 'string') throw new TypeError('JWK "kid" must be a string')
  if (use !== undefined && use !== 'sig') throw new TypeError('JWK "use" must be "sig"')
  let derived: SupportedAlgorithm
  let key: KeyObject
  if (kty === 'oct') {
    if (!allowSecret) throw new TypeError('a secret (kty "oct") JWK is accepted only when passed in `keys`')
    const k = (jwk as { k?: unknown }).k
    if (typeof k !== 'string') throw new TypeError('JWK "k" must be a string')
    derived = 'HS256'
    key = createSecretKey(Buffer.from(k, 'base64url'))
  } else {
    if ('d' in jwk) throw new TypeError('a private JWK was given where a public key is expected')
    if (kty === 'OKP' && crv === 'Ed25519') derived = 'EdDSA'
    else if (kty === 'EC' && crv === 'P-256') derived = 'ES256'
    else throw new TypeError('unsupported JWK: only OKP/Ed25519, EC/P-256 and (explicit) oct keys')
    key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
  }
  if (alg !== undefined && alg !== derived) throw new TypeError(`JWK "alg" ${String(alg)} does not match its key type`)
  return fromKeyObject(key, kid, derived)
}

/** Imports one entry of the `keys` option. */
export function importKeyInput(input: KeyInput): VerificationKey {
  if (input instanceof KeyObject || isCryptoKey(input)) return importKeyObject(input, undefined)
  if (typeof input === 'object' && input !== null && 'key' in input) {
    const { kid, key } = input
    if (kid !== undefined && typeof kid !== 'string') throw new TypeError('"kid" must be a string')
    if (key instanceof KeyObject || isCryptoKey(key)) return importKeyObject(key, kid)
    const imported = importJwk(key, true)
    return kid === undefined ? imported : { ...imported, kid }
  }
  return importJwk(input, true)
}

function importKeyObject(input: KeyObject | CryptoKey, kid: string | undefined): VerificationKey {
  const key = input instanceof KeyObject ? input : KeyObject.from(input)
  if (key.type === 'private') throw new TypeError('a private key was given; pass the public key')
  if (key.type === 'secret') return fromKeyObject(key, kid, 'HS256')
  if (key.asymmetricKeyType === 'ed25519') return fromKeyObject(key, kid, 'EdDSA')
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return fromKeyObject(key, kid, 'ES256')
  }
  throw new TypeError('unsupported key: only Ed25519, P-256 and HMAC secret keys')
}

function fromKeyObject(key: KeyObject, kid: string | undefined, alg: SupportedAlgorithm): VerificationKey {
  return { kid, alg, verifySignature: signatureCheckFor(key, alg) }
}

function signatureCheckFor(key: KeyObject, alg: SupportedAlgorithm): VerificationKey['verifySignature'] {
  switch (alg) {
    case 'EdDSA':
      return (data, signature) => signature.length === 64 && cryptoVerify(null, data, key, signature)
    case 'ES256': {
      // JWS carries ECDSA signatures as r||s (RFC 7518 §3.4), not DER.
      const ecKey = { key, dsaEncoding: 'ieee-p1363' as const }
      return (data, signature) => signature.length === 64 && cryptoVerify('sha256', data, ecKey, signature)
    }
    case 'HS256': {
      if ((key.symmetricKeySize ?? 0) < MIN_HMAC_KEY_BYTES) {
        throw new TypeError(`an HS256 secret must be at least ${MIN_HMAC_KEY_BYTES} bytes`)
      }
      return (data, signature) =>
        signature.length === 32 && timingSafeEqual(createHmac('sha256', key).update(data).digest(), signature)
    }
  }
}

function isCryptoKey(value: unknown): value is CryptoKey {
  return typeof globalThis.CryptoKey === 'function' && value instanceof globalThis.CryptoKey
}
