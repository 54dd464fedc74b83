/**
 * The OpenAPI description of the public routes (contract.md, docs/wire.md). Those routes take no
 * body schema (a token request's body is ignored, the introspection body has its own parsers), so
 * what the document says of them is their answers: attached to each route as it is registered on
 * an app that generates the document (`documentPublicRoutes`), never re-typed in the document.
 */
import type { FastifyInstance } from 'fastify'
import { ERROR_BODY, RATE_LIMIT_HEADERS, RATE_LIMITED } from './admin/schemas.js'

const error = (description: string) => ({ description, $ref: 'ContractError#' })

const TOKEN_RESPONSE = {
  type: 'object',
  required: ['accesstoken', 'type', 'expired'],
  additionalProperties: false,
  properties: {
    accesstoken: { type: 'string', description: 'A JWS (RFC 7515), valid for 24 hours.' },
    type: { type: 'string', const: 'Bearer' },
    expired: { type: 'string', pattern: '^[0-9]{14}$', description: 'When it expires: yyyyMMddHHmmss in KST (UTC+9).' },
  },
} as const

const INTROSPECTION = {
  type: 'object',
  required: ['active'],
  additionalProperties: false,
  properties: {
    active: { type: 'boolean' },
    sub: { type: 'string' },
    exp: { type: 'integer' },
    iat: { type: 'integer' },
    jti: { type: 'string' },
    iss: { type: 'string' },
    token_type: { type: 'string', const: 'Bearer' },
  },
} as const

const REVOCATIONS = {
  type: 'object',
  required: ['events', 'cursor'],
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', description: 'Pass as `since` on the next poll.' },
    events: {
      type: 'array',
      items: {
        type: 'object',
        required: ['seq', 'kind'],
        additionalProperties: false,
        properties: {
          seq: { type: 'integer' },
          kind: { type: 'string', enum: ['jti', 'account'] },
          jti: { type: 'string' },
          exp: { type: 'integer' },
          sub: { type: 'string' },
          validAfter: { type: 'integer' },
        },
      },
    },
  },
} as const

const JWKS = {
  type: 'object',
  required: ['keys'],
  properties: { keys: { type: 'array', items: { type: 'object', required: ['kty', 'kid'], properties: { kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' } } } } },
} as const

const STATUS = (value: string) => ({ type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', const: value } } })

const BASIC = [{ basic: [] }]
const BEARER = [{ bearer: [] }]

export const PUBLIC_ROUTE_DOCS: Record<string, Record<string, unknown>> = {
  'POST /v1/token': {
    tags: ['public'],
    summary: 'Issue an access token (contract.md §1)',
    security: BASIC,
    response: {
      // An authenticated account is told its rate-limit window on every answer (contract.md §6).
      200: { ...TOKEN_RESPONSE, headers: RATE_LIMIT_HEADERS },
      400: error('3000-3011, 5001, 9000 as the contract says (3008: a lockout, a blocked address or a full hash queue); 413 and 431 for oversized requests.'),
      429: RATE_LIMITED,
    },
  },
  'POST /v1/token/introspect': {
    tags: ['public'],
    summary: 'RFC 7662 introspection, for accounts with the role introspect',
    security: BASIC,
    response: { 200: INTROSPECTION, 400: error('3005: the caller is not an active account with the role introspect; 3008: locked out or blocked.') },
  },
  'POST /v1/token/revoke': {
    tags: ['public'],
    summary: 'The holder revokes its own token',
    security: BEARER,
    response: {
      200: { type: 'object', required: ['revoked'], additionalProperties: false, properties: { revoked: { type: 'boolean', const: true } }, headers: RATE_LIMIT_HEADERS },
      400: error('3005: no or malformed Bearer token; 3002: not a valid token of ours.'),
      429: RATE_LIMITED,
    },
  },
  'GET /v1/token/revocations': {
    tags: ['public'],
    summary: 'The revocation feed offline verifiers follow (docs/wire.md)',
    security: BASIC,
    querystring: { type: 'object', properties: { since: { type: 'string', description: 'The cursor of the previous answer; 0 or absent: the full snapshot.' } } },
    response: { 200: REVOCATIONS, 400: error('3005: the caller is not an active account with the role introspect; 3008: locked out or blocked.') },
  },
  'GET /.well-known/jwks.json': { tags: ['public'], summary: 'The public keys that verify tokens (next, current, retired)', response: { 200: JWKS } },
  'GET /health/live': { tags: ['health'], summary: 'The process answers', response: { 200: STATUS('ok') } },
  'GET /health/ready': { tags: ['health'], summary: 'The store answers', response: { 200: STATUS('ready'), 503: error('9000: the store does not answer.') } },
}

/** Attaches the documentation above to the public routes registered on `app` after this call. */
export function documentPublicRoutes(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const docs = PUBLIC_ROUTE_DOCS[`${methods[0]} ${route.url}`]
    if (docs && route.schema === undefined) route.schema = docs
  })
}

export { ERROR_BODY }
