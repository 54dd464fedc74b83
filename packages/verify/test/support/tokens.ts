import { createHmac, sign as cryptoSign, randomBytes, type KeyObject } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'

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

export function b64url(value: string | Buffer | object): string {
  const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))
  return bytes.toString('base64url')
}

/** Builds a token by hand, for the hostile ones jose refuses to make. */
export function rawToken(header: object | string, payload: object | string, signature: string): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`
}

export function hmacSignature(secret: Buffer | string, signingInput: string): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url')
}

export function ed25519Signature(privateKey: KeyObject, signingInput: string): string {
  return cryptoSign(null, Buffer.from(signingInput), privateKey).toString('base64url')
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
