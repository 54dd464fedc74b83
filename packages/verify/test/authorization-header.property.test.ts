import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { createVerifier, VerifyError, type Verifier } from '../src/index.js'
import { createSigningKey, issueToken, type SigningKey } from './support/tokens.js'

// Whatever arrives as the Authorization header, verify() answers with a contract error (3005 or
// 3002) and never with another exception, never with success.
describe('any Authorization header', () => {
  let key: SigningKey
  let verifier: Verifier
  let genuine: string

  before(async () => {
    key = await createSigningKey('key-1')
    verifier = createVerifier({ issuer: 'bizauth-test', keys: { keys: [key.publicJwk as never] } })
    genuine = await issueToken(key)
  })
  after(() => verifier.close())

  async function outcome(header: unknown): Promise<string> {
    try {
      await verifier(header)
      return 'accepted'
    } catch (error) {
      if (!(error instanceof VerifyError)) return `unexpected ${String(error)}`
      return error.code
    }
  }

  it('rejects any string with 3005 or 3002', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), async (header) => {
        assert.match(await outcome(header), /^300[25]$/)
      }),
      { numRuns: 2000 },
    )
  })

  it('rejects any "Bearer <b64token-ish>" string, and any mutation of a genuine token', async () => {
    const b64tokenChar = fc.constantFrom(...'ABCXYZabcxyz0189-._~+/='.split(''))
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: b64tokenChar, minLength: 1, maxLength: 400 }), async (credential) => {
        assert.match(await outcome(`Bearer ${credential}`), /^300[25]$/)
      }),
      { numRuns: 2000 },
    )
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: genuine.length - 1 }), fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }), async (at, char) => {
        fc.pre(genuine[at] !== char)
        const mutated = genuine.slice(0, at) + char + genuine.slice(at + 1)
        const result = await outcome(`Bearer ${mutated}`)
        // A changed last character can land in the unused bits of the signature; the canonical
        // base64url check must refuse that as well.
        assert.match(result, /^300[25]$/)
      }),
      { numRuns: 1500 },
    )
  })

  it('rejects any value that is not a string with 3005', async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything().filter((value) => typeof value !== 'string'), async (value) => {
        assert.equal(await outcome(value), '3005')
      }),
      { numRuns: 500 },
    )
  })

  it('still accepts the genuine token (the property is not vacuous)', async () => {
    assert.equal(await outcome(`Bearer ${genuine}`), 'accepted')
  })
})
