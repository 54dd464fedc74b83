import type { Verifier } from '../create-verifier.js'
import type { VerifiedClaims } from '../lib/claims.js'
import type { VerifierOptions } from '../options.js'
import { renderFailure, verifierFrom } from './render-failure.js'

// Typed structurally so that this package never imports fastify, at runtime or in its types.
interface FastifyRequestLike {
  readonly headers: { readonly authorization?: string | string[] | undefined }
  bizauth?: VerifiedClaims | null
}
interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike
  header(name: string, value: string): FastifyReplyLike
  send(payload: string): FastifyReplyLike
}
type Hook = (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>
interface FastifyInstanceLike {
  addHook(name: 'onRequest', hook: Hook): unknown
  addHook(name: 'onClose', hook: () => Promise<void>): unknown
  decorateRequest(name: 'bizauth', value: null): unknown
  hasRequestDecorator(name: 'bizauth'): boolean
}

/** `{ verifier }` to share one verifier, or the verifier options themselves. */
export type BizauthFastifyOptions = { readonly verifier: Verifier } | VerifierOptions

/**
 * A Fastify plugin: every request in the scope it is registered in must carry a valid Bearer
 * token; the claims are `request.bizauth`. Failures answer 400 `{"code","description"}`.
 * Register it inside `app.register(async (api) => { … })` to protect only those routes.
 */
export async function bizauthFastify(fastify: FastifyInstanceLike, options: BizauthFastifyOptions): Promise<void> {
  const { verifier, owned } = 'verifier' in options ? { verifier: options.verifier, owned: false } : verifierFrom(options)
  if (!fastify.hasRequestDecorator('bizauth')) fastify.decorateRequest('bizauth', null)
  fastify.addHook('onRequest', bizauthPreHandler(verifier))
  if (owned) fastify.addHook('onClose', async () => verifier.close())
}

// Without this, Fastify's encapsulation would keep the hook inside the plugin's own scope and
// it would protect nothing (the same mechanism as fastify-plugin).
Object.assign(bizauthFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@bizauth/verify',
})

/** The hook alone, for one route: `{ onRequest: bizauthPreHandler(verifier) }` (or preHandler). */
export function bizauthPreHandler(verifier: Verifier): Hook {
  return async function bizauthAuthenticate(request, reply) {
    try {
      request.bizauth = await verifier.verify(request.headers.authorization)
    } catch (error) {
      const failure = renderFailure(error)
      return reply.code(failure.status).header('content-type', failure.contentType).send(failure.body)
    }
    return undefined
  }
}
