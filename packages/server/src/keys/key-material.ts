/**
 * Creating and loading signing keys with jose.
 *
 * EdDSA (Ed25519) is the default so resource servers verify with a public key and never
 * hold a secret; ES256 is there for verifiers without Ed25519; HS256 for deployments that
 * verify only through introspection. The kid of an asymmetric key is its RFC 7638
 * thumbprint; an HS256 kid is random (its thumbprint would leak nothing, but it would be
 * derived from the secret).
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, generateSecret, importJWK, type CryptoKey, type JWK } from 'jose'
import { randomBytes } from 'node:crypto'
import type { KeyAlgorithm, SigningKeyRecord, KeyState } from '../store/store.js'
import type { KeyEncryption } from './key-encryption.js'
import { createJwsSigner, type JwsSigner } from './jws-signer.js'

export interface LoadedKey {
  kid: string
  alg: KeyAlgorithm
  state: KeyState
  /** Produces compact JWS with this key (see jws-signer.ts for why not jose's SignJWT). */
  signer: JwsSigner
  /** Verifies: the public key, or the secret for HS256. */
  verificationKey: CryptoKey | Uint8Array
  /** Published in the JWKS; undefined for HS256. */
  publicJwk: JWK | undefined
  createdAt: Date
  activatedAt: Date | null
  retiredAt: Date | null
}

export async function createKeyRecord(alg: KeyAlgorithm, state: KeyState, encryption: KeyEncryption, now: Date): Promise<SigningKeyRecord> {
  if (alg === 'HS256') {
    const secret = (await generateSecret('HS256', { extractable: true })) as CryptoKey
    const jwk = await exportJWK(secret)
    const kid = randomBytes(16).toString('base64url')
    return record(kid, alg, state, encryption.seal(JSON.stringify(jwk), kid), null, now)
  }
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  const privateJwk = await exportJWK(privateKey)
  const published: JWK = { ...publicJwk, kid, alg, use: 'sig' }
  return record(kid, alg, state, encryption.seal(JSON.stringify(privateJwk), kid), JSON.stringify(published), now)
}

function record(kid: string, alg: KeyAlgorithm, state: KeyState, privateMaterial: string, publicJwk: string | null, now: Date): SigningKeyRecord {
  return { kid, alg, state, privateMaterial, publicJwk, createdAt: now, activatedAt: state === 'current' ? now : null, retiredAt: null }
}

export async function loadKey(stored: SigningKeyRecord, encryption: KeyEncryption): Promise<LoadedKey> {
  const privateJwk = JSON.parse(encryption.open(stored.privateMaterial, stored.kid)) as JWK
  const publicJwk = stored.publicJwk === null ? undefined : (JSON.parse(stored.publicJwk) as JWK)
  const verificationKey = await importJWK(publicJwk ?? privateJwk, stored.alg)
  return {
    kid: stored.kid,
    alg: stored.alg,
    state: stored.state,
    signer: createJwsSigner(stored.kid, stored.alg, privateJwk),
    verificationKey,
    publicJwk,
    createdAt: stored.createdAt,
    activatedAt: stored.activatedAt,
    retiredAt: stored.retiredAt,
  }
}
