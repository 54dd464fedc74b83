import type { Verifier } from '../create-verifier.js'
import type { VerifiedClaims } from '../lib/claims.js'
import type { VerifierOptions } from '../options.js'
import { renderFailure, verifierFrom } from './render-failure.js'

/** Verifies the Authorization header of a Fetch-API `Request`. */
export function verifyRequest(verifier: Verifier, request: Request): Promise<VerifiedClaims> {
  return verifier.verify(request.headers.get('authorization') ?? undefined)
}

/** The contract's 400 `{"code","description"}` answer for a failed verification. */
export function errorResponse(error: unknown): Response {
  const failure = renderFailure(error)
  return new Response(failure.body, { status: failure.status, headers: { 'content-type': failure.contentType } })
}

/**
 * Wraps a Fetch-API handler (Hono, Deno.serve, Bun.serve, workers): the handler runs only for a
 * valid token and gets the claims as its second argument; any further arguments (env, ctx)
 * pass through.
 */
export function withBizauth<Rest extends unknown[]>(
  verifierOrOptions: Verifier | VerifierOptions,
  handler: (request: Request, claims: VerifiedClaims, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response> {
  const { verifier } = verifierFrom(verifierOrOptions)
  return async function bizauthFetchHandler(request: Request, ...rest: Rest): Promise<Response> {
    let claims: VerifiedClaims
    try {
      claims = await verifyRequest(verifier, request)
    } catch (error) {
      return errorResponse(error)
    }
    return handler(request, claims, ...rest)
  }
}
