import assert from 'node:assert/strict'
import { BizauthError } from '../../src/errors.js'

/** Awaits a promise that must reject with a BizauthError, and returns that error for further checks. */
export async function rejectionOf(promise: Promise<unknown>): Promise<BizauthError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof BizauthError, `expected a BizauthError, got ${String(error)}`)
    return error
  }
  assert.fail('expected a rejection')
}
