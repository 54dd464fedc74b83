import assert from 'node:assert/strict'
import { createPublicKey, createSecretKey, generateKeyPairSync, KeyObject, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { importJWK, SignJWT } from 'jose'
import { createVerifier, type PublicJwk } from '../src/index.js'
import { assertRejects } from './support/assertions.js'
import { b64url, createSigningKey, hmacSignature, issueToken, standardClaims } from './support/tokens.js'

describe('offline keys', () => {
  it('verifies ES256 tokens, and refuses them under an EdDSA key of the same kid', async () => {
    const es = await createSigningKey('k', 'ES256')
    const ed = await createSigningKey('k', 'EdDSA')
    const esVerifier = createVerifier({ issuer: 'bizauth-test', keys: [es.publicJwk as PublicJwk] })
    const edVerifier = createVerifier({ issuer: 'bizauth-test', keys: [ed.publicJwk as PublicJwk] })
    const esToken = await issueToken(es)
    assert.equal((await esVerifier(`Bearer ${esToken}`)).sub, 'acme')
    await assertRejects(edVerifier(`Bearer ${esToken}`), '3002', 'alg_mismatch', esToken)
    await assertRejects(esVerifier(`Bearer ${await issueToken(ed)}`), '3002', 'alg_mismatch')
  })

  it('accepts KeyObjects and CryptoKeys, with or without a kid', async () => {
    const signer = await createSigningKey('any-kid')
    const publicKey = createPublicKey(KeyObject.from(signer.privateKey))
    const cryptoKey = await importJWK(signer.publicJwk, 'EdDSA')
    assert.ok(cryptoKey instanceof CryptoKey)
    const token = await issueToken(signer)
    for (const keys of [publicKey, { kid: 'any-kid', key: publicKey }, [publicKey], cryptoKey, { kid: 'any-kid', key: cryptoKey }]) {
      assert.equal((await createVerifier({ issuer: 'bizauth-test', keys })(`Bearer ${token}`)).sub, 'acme')
    }
    await assertRejects(createVerifier({ issuer: 'bizauth-test', keys: { kid: 'other', key: publicKey } })(`Bearer ${token}`), '3002', 'unknown_kid')
  })

  it('verifies HS256 only with a secret passed explicitly, and refuses short secrets', async () => {
    const secret = randomBytes(32)
    const token = await new SignJWT(standardClaims()).setProtectedHeader({ alg: 'HS256', kid: 'h' }).sign(secret)
    const verifier = createVerifier({ issuer: 'bizauth-test', keys: { kid: 'h', key: createSecretKey(secret) } })
    assert.equal((await verifier(`Bearer ${token}`)).sub, 'acme')
    const jwkVerifier = createVerifier({ issuer: 'bizauth-test', keys: { kty: 'oct', k: secret.toString('base64url'), kid: 'h' } })
    assert.equal((await jwkVerifier(`Bearer ${token}`)).sub, 'acme')
    const header = b64url({ alg: 'HS256', kid: 'h' })
    const payload = b64url(standardClaims())
    const forged = `${header}.${payload}.${hmacSignature(randomBytes(32), `${header}.${payload}`)}`
    await assertRejects(verifier(`Bearer ${forged}`), '3002', 'bad_signature', forged)
    assert.throws(() => createVerifier({ issuer: 'i', keys: createSecretKey(randomBytes(16)) }), /at least 32 bytes/)
    // A JWKS document never yields a secret, even offline.
    assert.throws(() => createVerifier({ issuer: 'i', keys: { keys: [{ kty: 'oct', k: secret.toString('base64url') }] } }), /only when passed/)
  })

  it('refuses private keys, unsupported curves and contradicting alg at creation, without echoing key material', () => {
    const { privateKey } = generateKeyPairSync('ed25519')
    const privateJwk = privateKey.export({ format: 'jwk' }) as PublicJwk
    assert.throws(() => createVerifier({ issuer: 'i', keys: privateKey }), /private key/)
    assert.throws(() => createVerifier({ issuer: 'i', keys: [privateJwk] }), (error: Error) => !error.message.includes(String(privateJwk.d)))
    const { publicKey: ed448 } = generateKeyPairSync('ed448')
    assert.throws(() => createVerifier({ issuer: 'i', keys: ed448 }), /unsupported/)
    const { publicKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 1024 })
    assert.throws(() => createVerifier({ issuer: 'i', keys: rsa }), /unsupported/)
    const { d: _private, ...publicJwk } = privateJwk
    assert.throws(() => createVerifier({ issuer: 'i', keys: [{ ...publicJwk, alg: 'ES256' }] }), /does not match/)
  })

  it('validates the options once, with messages that never echo credentials', () => {
    const { publicKey } = generateKeyPairSync('ed25519')
    assert.throws(() => createVerifier({ issuer: '', keys: publicKey }), /issuer/)
    assert.throws(() => createVerifier({ issuer: 'i' }), /jwksUrl/)
    assert.throws(() => createVerifier({ issuer: 'i', keys: publicKey, jwksUrl: 'http://127.0.0.1/' }), /not both/)
    assert.throws(() => createVerifier({ issuer: 'i', jwksUrl: 'ftp://x/' }), /http/)
    assert.throws(() => createVerifier({ issuer: 'i', keys: publicKey, clockToleranceSeconds: -1 }), /clockToleranceSeconds/)
    assert.throws(
      () => createVerifier({ issuer: 'i', keys: publicKey, revocations: { url: 'http://127.0.0.1/', credentials: { account: '', password: 's3cret-value' } } }),
      (error: Error) => /credentials/.test(error.message) && !error.message.includes('s3cret-value'),
    )
    assert.throws(() => createVerifier({ issuer: 'i', revocations: 'introspect', credentials: { account: 'a', password: 'p' } }), /needs `url`/)
    // The server URL is derived from jwksUrl when the issue's short spelling is used.
    const verifier = createVerifier({
      issuer: 'i',
      jwksUrl: 'http://127.0.0.1:1/prefix/.well-known/jwks.json',
      revocations: 'introspect',
      credentials: { account: 'a', password: 'p' },
    })
    assert.equal(typeof verifier.verify, 'function')
  })

  it('keeps the verified-token cache bounded', async () => {
    const signer = await createSigningKey('k')
    const verifier = createVerifier({ issuer: 'bizauth-test', keys: [signer.publicJwk as PublicJwk], cache: { maxEntries: 3 } })
    for (let i = 0; i < 10; i++) await verifier(`Bearer ${await issueToken(signer)}`)
    assert.equal(verifier.stats().cachedTokens, 3)
    const uncached = createVerifier({ issuer: 'bizauth-test', keys: [signer.publicJwk as PublicJwk], cache: false })
    await uncached(`Bearer ${await issueToken(signer)}`)
    assert.equal(uncached.stats().cachedTokens, 0)
  })

  it('does not serve an expired token from the cache', async () => {
    const signer = await createSigningKey('k')
    let clock = Date.now()
    const verifier = createVerifier({ issuer: 'bizauth-test', keys: [signer.publicJwk as PublicJwk], now: () => clock, clockToleranceSeconds: 0 })
    const iat = Math.floor(clock / 1000)
    const token = await issueToken(signer, { iat, exp: iat + 60 })
    await verifier(`Bearer ${token}`)
    assert.equal(verifier.stats().cachedTokens, 1)
    clock += 61_000
    await assertRejects(verifier(`Bearer ${token}`), '3002', 'expired', token)
    assert.equal(verifier.stats().cachedTokens, 0)
  })
})
