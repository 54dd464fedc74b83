/** A stored hash with other argon2id parameters is upgraded after a successful check (issue 2 §3). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseOptions } from '@node-rs/argon2'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { FAST_ARGON2, basic, startTestApp } from './helpers/app.js'
import { waitFor } from './helpers/wait-for.js'

const CURRENT = { memoryCost: 2048, timeCost: 2, parallelism: 1 }

describe('argon2id parameter upgrade', () => {
  it('re-hashes with the current parameters after a successful check, and the password keeps working', async (context) => {
    const t = await startTestApp({ argon2: CURRENT })
    context.after(() => t.close())
    // Created with older, weaker parameters.
    const oldHash = await new PasswordHasher(FAST_ARGON2).hash('pw-1')
    await t.store.createAccount({ id: 'legacy', passwordHash: oldHash, allowedIps: ['127.0.0.1/32'] })
    assert.equal(t.services.hasher.needsRehash(oldHash), true)

    assert.equal((await t.token(basic('legacy', 'pw-1'))).statusCode, 200)
    const upgraded = await waitFor(async () => {
      const account = await t.store.getAccount('legacy')
      return account && account.passwordHash !== oldHash ? account.passwordHash : undefined
    }, { what: 'the stored hash to be upgraded' })
    const options = parseOptions(upgraded)
    assert.deepEqual([options.memoryCost, options.timeCost, options.parallelism], [2048, 2, 1])
    assert.equal(t.services.hasher.needsRehash(upgraded), false)

    // The upgrade bumped the account's version, so the next request checks the new hash once.
    assert.equal((await t.token(basic('legacy', 'pw-1'))).statusCode, 200)
    assert.equal(JSON.parse((await t.token(basic('legacy', 'wrong'))).body).code, '3007')
  })

  it('never upgrades on a failed check', async (context) => {
    const t = await startTestApp({ argon2: CURRENT })
    context.after(() => t.close())
    const oldHash = await new PasswordHasher(FAST_ARGON2).hash('pw-1')
    await t.store.createAccount({ id: 'legacy', passwordHash: oldHash, allowedIps: ['127.0.0.1/32'] })
    const verificationsBefore = t.services.hasher.verifications
    assert.equal(JSON.parse((await t.token(basic('legacy', 'wrong'))).body).code, '3007')
    assert.equal(t.services.hasher.verifications, verificationsBefore + 1)
    // A hash job would have been started through the same queue; none was.
    assert.equal(t.services.hashQueue.started, verificationsBefore + 1)
    assert.equal((await t.store.getAccount('legacy'))!.passwordHash, oldHash)
  })
})
