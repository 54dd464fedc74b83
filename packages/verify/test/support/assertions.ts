import assert from 'node:assert/strict'
import { VerifyError, type VerifyErrorCode, type VerifyFailureReason } from '../../src/index.js'

/** Asserts a contract rejection, and that nothing of the token leaked into the error. */
export async function assertRejects(
  attempt: Promise<unknown>,
  code: VerifyErrorCode,
  reason?: VerifyFailureReason,
  token?: string,
): Promise<VerifyError> {
  let caught: unknown
  try {
    await attempt
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof VerifyError, `expected a VerifyError, got ${String(caught)}`)
  assert.equal(caught.code, code, `code (reason ${caught.reason})`)
  if (reason !== undefined) assert.equal(caught.reason, reason)
  assert.equal(caught.status, code === '9000' ? 500 : 400)
  if (token !== undefined && token.length > 8) {
    const rendered = `${caught.message} ${caught.stack ?? ''} ${JSON.stringify(caught)} ${String(caught)}`
    assert.ok(!rendered.includes(token), 'the error must not contain the token')
  }
  return caught
}
