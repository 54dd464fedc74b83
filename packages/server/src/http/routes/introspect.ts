/**
 * `POST /v1/token/introspect` (RFC 7662 shape, docs/wire.md). The caller is an account with the
 * `introspect` role; the token comes as `token=` (application/x-www-form-urlencoded, RFC 7662
 * §2.1) or as `{"token":…}` JSON. Any token that is not valid now is `{"active":false}`.
 *
 * The two body parsers live in this encapsulated scope only: every other route ignores bodies.
 * The caller is authenticated in onRequest, before the body is read, so only resource servers
 * may send the larger body this route accepts: a hostile 1 MB "token" is answered
 * `{"active":false}` like any other bad token, not with a transport error.
 */
import type { FastifyInstance } from 'fastify'
import { ContractError } from '../../errors.js'
import type { Services } from '../../services.js'
import { sendJson } from '../render-error.js'
import { authenticateIntrospectionCaller } from './introspection-caller.js'

/** What the body parsers hand the route: the token, or why there is none. */
interface IntrospectionBody {
  token: string | undefined
}

const NO_TOKEN: IntrospectionBody = { token: undefined }
/** Room for a hostile token of a megabyte or so; tokens of ours are ~250 characters. */
const INTROSPECTION_BODY_LIMIT = 2 * 1024 * 1024
const INACTIVE = '{"active":false}'
const TOKEN_REQUIRED =
  'The token parameter is required (RFC 7662 §2.1): send token=<jwt> as application/x-www-form-urlencoded, or {"token":"<jwt>"} as application/json.'

function parseFormBody(text: string): IntrospectionBody {
  const tokens = new URLSearchParams(text).getAll('token')
  // RFC 6749 §3.1: a parameter must not be repeated; which one would we check?
  return tokens.length === 1 ? { token: tokens[0] } : NO_TOKEN
}

function parseJsonBody(text: string): IntrospectionBody {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.hasOwn(parsed, 'token')) {
      const token = (parsed as { token: unknown }).token
      return { token: typeof token === 'string' ? token : undefined }
    }
  } catch {
    // Not JSON: no readable token; answered as a missing token.
  }
  return NO_TOKEN
}

export function registerIntrospectRoute(app: FastifyInstance, services: Services): void {
  const { config, authenticator, tokenVerifier } = services
  void app.register(async (scope) => {
    const limits = { parseAs: 'string' as const, bodyLimit: Math.max(config.bodyLimitBytes, INTROSPECTION_BODY_LIMIT) }
    scope.addContentTypeParser('application/x-www-form-urlencoded', limits, (_request, body, done) => done(null, parseFormBody(body as unknown as string)))
    scope.addContentTypeParser('application/json', limits, (_request, body, done) => done(null, parseJsonBody(body as unknown as string)))

    scope.addHook('onRequest', async (request) => {
      await authenticateIntrospectionCaller(authenticator, request, config.trustProxy)
    })

    scope.post('/v1/token/introspect', async (request, reply) => {
      const token = (request.body as IntrospectionBody | undefined)?.token
      if (token === undefined || token === '') throw new ContractError('3002', TOKEN_REQUIRED)
      const verdict = await tokenVerifier.verify(token)
      if (!verdict.active) return sendJson(reply, INACTIVE)
      const { sub, exp, iat, jti, iss } = verdict.claims
      return sendJson(reply, JSON.stringify({ active: true, sub, exp, iat, jti, iss, token_type: 'Bearer' }))
    })
  })
}
