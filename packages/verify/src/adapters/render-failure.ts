import { VERIFY_ERROR_CODES, VerifyError } from '../errors.js'
import { createVerifier, type Verifier } from '../create-verifier.js'
import type { VerifierOptions } from '../options.js'

/** What every adapter sends for a failed verification: the contract's `{"code","description"}`. */
export interface RenderedFailure {
  readonly status: number
  readonly contentType: 'application/json; charset=utf-8'
  readonly body: string
}

const CONTENT_TYPE = 'application/json; charset=utf-8' as const

/**
 * The one place a failure becomes an HTTP answer (contract §3). Anything that is not a
 * VerifyError is a bug; it still gets the contract's 9000 body and never its own message.
 */
export function renderFailure(error: unknown): RenderedFailure {
  if (error instanceof VerifyError) {
    return { status: error.status, contentType: CONTENT_TYPE, body: JSON.stringify(error.toJSON()) }
  }
  const unknown = VERIFY_ERROR_CODES['9000']
  return { status: unknown.status, contentType: CONTENT_TYPE, body: JSON.stringify({ code: '9000', description: unknown.description }) }
}

/** Adapters take a ready verifier or the options to make one (then they own and close it). */
export function verifierFrom(input: Verifier | VerifierOptions): { verifier: Verifier; owned: boolean } {
  if (typeof input === 'function' && typeof (input as Verifier).verify === 'function') return { verifier: input as Verifier, owned: false }
  return { verifier: createVerifier(input as VerifierOptions), owned: true }
}
