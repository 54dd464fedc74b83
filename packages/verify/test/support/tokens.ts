import { randomBytes } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'

export { b64url, hmacSignature, rawToken } from './token-corpus.js'

export const ISSUER = 'bizauth-test'

export interface SigningKey {
  readonly kid: string
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export async function createSigningKey(kid: string, alg: 'EdDSA' | 'ES256' = 'EdDSA'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { kid, privateKey, publicJwk }
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

export function newJti(): string {
  return randomBytes(16).toString('base64url')
}

export interface ClaimsOverrides {
  iss?: string
  sub?: string
  iat?: number
  exp?: number
  nbf?: number
  jti?: string
}

/** A token as the bizauth server issues it (wire.md), signed by jose. */
export async function issueToken(key: SigningKey, overrides: ClaimsOverrides = {}): Promise<string> {
  const iat = overrides.iat ?? nowSeconds()
  const claims: Record<string, unknown> = {
    iss: overrides.iss ?? ISSUER,
    sub: overrides.sub ?? 'acme',
    iat,
    exp: overrides.exp ?? iat + 86_400,
    jti: overrides.jti ?? newJti(),
  }
  if (overrides.nbf !== undefined) claims.nbf = overrides.nbf
  const alg = String(key.publicJwk.alg)
  return new SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey)
}

export function standardClaims(overrides: ClaimsOverrides = {}): Record<string, unknown> {
  const iat = overrides.iat ?? nowSeconds()
  return { iss: overrides.iss ?? ISSUER, sub: overrides.sub ?? 'acme', iat, exp: overrides.exp ?? iat + 86_400, jti: overrides.jti ?? newJti() }
}

/** Polls a condition until it holds or the deadline passes; never a fixed sleep. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now()
  for (;;) {
    if (await condition()) return Date.now() - started
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
