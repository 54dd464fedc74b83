/**
 * The JSON schemas of the admin API: Fastify validates requests with them, and @fastify/swagger
 * turns them into the OpenAPI document (GET /admin/v1/openapi.json), so the document is what the
 * server checks. Objects are closed (`additionalProperties: false`): an unknown field is an error.
 */
import { MAX_KEEP_PREVIOUS_SECONDS } from '../../accounts/administration.js'
import { AUDIT_PAGE_DEFAULT, AUDIT_PAGE_MAX } from '../../store/audit-listing.js'
import { ACCOUNT_ROLES, AUDIT_ACTIONS } from '../../store/store.js'
import { CODE_TABLE } from '../../errors.js'

export const ERROR_BODY = {
  $id: 'ContractError',
  type: 'object',
  description: 'Every refusal: a code of the contract table and a description (never a secret).',
  required: ['code', 'description'],
  additionalProperties: false,
  properties: { code: { type: 'string', enum: Object.keys(CODE_TABLE) }, description: { type: 'string' } },
} as const

const errorRef = (description: string) => ({ description, $ref: 'ContractError#' })

/** The headers every answer counted by the rate limit may carry (contract.md §6, http/rate-limit.ts). */
export const RATE_LIMIT_HEADERS = {
  'RateLimit-Limit': { type: 'integer', description: 'Requests the account may make per window (--rate-limit).' },
  'RateLimit-Remaining': { type: 'integer', description: 'Requests left in this window.' },
  'RateLimit-Reset': { type: 'number', description: 'Seconds until the window renews, up to three decimals (e.g. 0.299).' },
} as const

/** 429/5002: the account's rate limit is spent (contract.md §6). */
export const RATE_LIMITED = {
  description: '5002: the account made more requests in this window than --rate-limit allows; retry after Retry-After.',
  $ref: 'ContractError#',
  headers: { 'Retry-After': { type: 'integer', minimum: 1, description: 'Whole seconds until the window renews.' }, ...RATE_LIMIT_HEADERS },
} as const

/** The refusals every admin route can give, by HTTP status. */
export const ADMIN_ERRORS = {
  400: errorRef('Bad input (naming the field), 3005: no or malformed Bearer token, 3002: invalid, expired or revoked token, 3000/3003/3010: the caller\'s IP is not allowed for the admin account.'),
  403: errorRef('3005: the token\'s account lacks the role this request needs.'),
  429: RATE_LIMITED,
} as const

/** The refusals of the routes about one account. */
export const ACCOUNT_ERRORS = {
  404: errorRef('3006: no account has this id.'),
} as const
export const CREATE_ERRORS = {
  409: errorRef('3004: an account with this id already exists.'),
} as const
export const PATCH_ERRORS = {
  ...ACCOUNT_ERRORS,
  412: errorRef('3004: If-Match does not name the current ETag: someone changed the account since it was read.'),
  428: errorRef('3004: If-Match is missing.'),
} as const

const ACCOUNT_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' } as const
const ROLE = { type: 'string', enum: [...ACCOUNT_ROLES] } as const
const PASSWORD = { type: 'string', minLength: 1, maxLength: 1024, description: 'Never echoed, logged or stored in clear.' } as const
const ALLOWED_IPS = {
  type: 'array',
  maxItems: 1000,
  items: { type: 'string', minLength: 1, maxLength: 64, description: 'An IPv4/IPv6 address or CIDR range.' },
} as const
const STATUS = { type: 'string', enum: ['active', 'suspended'] } as const
const ISO_TIME = { type: 'string', format: 'date-time' } as const

export const ACCOUNT = {
  $id: 'Account',
  type: 'object',
  required: ['id', 'status', 'allowed_ips', 'roles', 'created_at', 'updated_at', 'tokens_valid_after'],
  additionalProperties: false,
  properties: {
    id: ACCOUNT_ID,
    status: STATUS,
    allowed_ips: { type: 'array', items: { type: 'string' } },
    roles: { type: 'array', items: ROLE },
    created_at: ISO_TIME,
    updated_at: ISO_TIME,
    tokens_valid_after: { type: 'integer', description: 'Tokens issued before this instant (epoch seconds) are revoked; 0: none.' },
  },
} as const

export const ACCOUNT_ID_PARAMS = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: ACCOUNT_ID },
} as const

export const ACCOUNT_LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    cursor: { type: 'string', maxLength: 200, description: 'The `next_cursor` of the previous page.' },
    limit: { type: 'string', pattern: '^[0-9]{1,3}$', description: 'Accounts per page, 1-200 (default 50).' },
    q: { type: 'string', maxLength: 64, pattern: '^[A-Za-z0-9._@-]*$', description: 'Only ids that start with this text.' },
    status: STATUS,
  },
} as const

export const ACCOUNT_PAGE = {
  type: 'object',
  required: ['accounts', 'next_cursor'],
  additionalProperties: false,
  properties: {
    accounts: { type: 'array', items: { $ref: 'Account#' } },
    next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last.' },
  },
} as const

export const CREATE_ACCOUNT_BODY = {
  type: 'object',
  required: ['id', 'allowed_ips'],
  additionalProperties: false,
  properties: { id: ACCOUNT_ID, allowed_ips: ALLOWED_IPS, roles: { type: 'array', maxItems: 10, items: ROLE }, password: PASSWORD },
} as const

export const UPDATE_ACCOUNT_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { allowed_ips: ALLOWED_IPS, roles: { type: 'array', maxItems: 10, items: ROLE }, status: STATUS },
} as const

export const SET_PASSWORD_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    password: PASSWORD,
    keep_previous_for_seconds: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_KEEP_PREVIOUS_SECONDS,
      description:
        `A rotation without downtime (as \`account set-password --keep-previous-for\`): the previous password keeps working this many seconds (at most 7 days, ${MAX_KEEP_PREVIOUS_SECONDS}) and earlier tokens stay valid. Without it the previous password stops at once and earlier tokens are revoked.`,
    },
  },
} as const

/** An account change that may have generated a password: it is in this answer and nowhere else. */
export const ACCOUNT_WITH_PASSWORD = {
  type: 'object',
  required: ['account'],
  additionalProperties: false,
  properties: {
    account: { $ref: 'Account#' },
    password: { type: 'string', description: 'Only when the server generated it: shown once, never again.' },
    previous_password_valid_until: { ...ISO_TIME, description: 'Only with keep_previous_for_seconds: until when the previous password still works.' },
  },
} as const

export const ACCOUNT_CHANGED = {
  type: 'object',
  required: ['account'],
  additionalProperties: false,
  properties: { account: { $ref: 'Account#' } },
} as const

export const ACCOUNT_DELETED = {
  type: 'object',
  required: ['deleted', 'id'],
  additionalProperties: false,
  properties: { deleted: { type: 'boolean', const: true }, id: ACCOUNT_ID },
} as const

export const IF_MATCH_HEADERS = {
  type: 'object',
  properties: { 'if-match': { type: 'string', description: 'The ETag of GET /admin/v1/accounts/{id}, or *.' } },
} as const

const KEY = {
  type: 'object',
  required: ['kid', 'alg', 'state', 'createdAt', 'activatedAt', 'retiredAt', 'promotesAt', 'removedAfter'],
  additionalProperties: false,
  description: 'As `bizauth keys list --json`.',
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string', enum: ['EdDSA', 'ES256', 'HS256'] },
    state: { type: 'string', enum: ['next', 'current', 'retired'] },
    createdAt: ISO_TIME,
    activatedAt: { type: ['string', 'null'], format: 'date-time' },
    retiredAt: { type: ['string', 'null'], format: 'date-time' },
    promotesAt: { type: ['string', 'null'], format: 'date-time', description: 'next keys: when a running server makes it current.' },
    removedAfter: { type: ['string', 'null'], format: 'date-time', description: 'retired keys: when it stops being published.' },
  },
} as const

export const KEY_LIST = {
  type: 'object',
  required: ['keys', 'promotion_delay_seconds'],
  additionalProperties: false,
  properties: { keys: { type: 'array', items: KEY }, promotion_delay_seconds: { type: 'integer' } },
} as const

export const ROTATE_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: { now: { type: 'boolean', description: 'Make the new key current at once instead of after the promotion delay.' } },
} as const

export const ROTATED = {
  type: 'object',
  required: ['key'],
  additionalProperties: false,
  properties: { key: KEY },
} as const

export const REVOKE_TOKEN_BODY = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  description: 'Either the jti or the whole token (read without verifying it, never stored or echoed).',
  properties: { jti: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }, token: { type: 'string', minLength: 1, maxLength: 8192 } },
} as const

export const TOKEN_REVOKED = {
  type: 'object',
  required: ['revoked', 'jti', 'kept_until'],
  additionalProperties: false,
  properties: { revoked: { type: 'boolean', const: true }, jti: { type: 'string' }, kept_until: ISO_TIME },
} as const

const MINUTE = {
  type: 'object',
  required: ['start', 'issued', 'refused'],
  additionalProperties: false,
  properties: {
    start: ISO_TIME,
    issued: { type: 'integer' },
    refused: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Refused token requests by contract code.' },
  },
} as const

export const STATS = {
  type: 'object',
  required: ['minutes', 'credential_cache', 'hash_queue', 'current_key'],
  additionalProperties: false,
  properties: {
    minutes: { type: 'array', items: MINUTE, description: 'POST /v1/token on this instance, per minute, the last 60 minutes, oldest first.' },
    credential_cache: {
      type: 'object',
      required: ['lookups', 'hits', 'hit_ratio', 'entries'],
      additionalProperties: false,
      properties: { lookups: { type: 'integer' }, hits: { type: 'integer' }, hit_ratio: { type: ['number', 'null'] }, entries: { type: 'integer' } },
    },
    hash_queue: {
      type: 'object',
      required: ['running', 'waiting', 'max_waiting'],
      additionalProperties: false,
      properties: { running: { type: 'integer' }, waiting: { type: 'integer' }, max_waiting: { type: 'integer' } },
    },
    current_key: {
      type: ['object', 'null'],
      required: ['kid', 'age_seconds'],
      additionalProperties: false,
      properties: { kid: { type: 'string' }, age_seconds: { type: 'integer' } },
    },
  },
} as const

export const AUDIT_LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    account: { ...ACCOUNT_ID, description: 'Only events about this account (their target).' },
    action: { type: 'string', enum: [...AUDIT_ACTIONS], description: 'Only this action.' },
    since: { type: 'string', maxLength: 40, description: 'Only events at or after this time: ISO 8601, e.g. 2026-01-31 or 2026-01-31T09:00:00Z (without an offset: KST).' },
    until: { type: 'string', maxLength: 40, description: 'Only events before this time (ISO 8601, as since).' },
    cursor: { type: 'string', maxLength: 20, description: 'The `next_cursor` of the previous page.' },
    limit: { type: 'string', maxLength: 8, description: `Events per page, 1-${AUDIT_PAGE_MAX} (default ${AUDIT_PAGE_DEFAULT}).` },
  },
} as const

const AUDIT_EVENT = {
  type: 'object',
  required: ['seq', 'time', 'actor', 'source', 'action', 'target', 'changes', 'prev_hash', 'hash'],
  additionalProperties: false,
  description: 'As a line of `bizauth audit list --json`.',
  properties: {
    seq: { type: 'integer', minimum: 1, description: 'Gap-free, from 1.' },
    time: ISO_TIME,
    actor: {
      type: 'object',
      required: ['type', 'id'],
      additionalProperties: false,
      description: 'cli: the OS user; admin: the admin account; system: the server itself; account: a token holder revoking its own token.',
      properties: { type: { type: 'string', enum: ['cli', 'admin', 'system', 'account'] }, id: { type: 'string' } },
    },
    source: { type: 'string', description: 'The host name for the CLI and the server, the client IP for an API.' },
    action: { type: 'string', enum: [...AUDIT_ACTIONS] },
    target: { type: 'string', description: 'The account id, kid, jti or client address the event is about.' },
    changes: {
      type: 'object',
      description: '{field: [before, after]} of non-secret fields only.',
      additionalProperties: { type: 'array', minItems: 2, maxItems: 2 },
    },
    prev_hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    hash: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'The chain\'s seal (`bizauth audit verify`).' },
  },
} as const

export const AUDIT_PAGE = {
  type: 'object',
  required: ['events', 'next_cursor'],
  additionalProperties: false,
  properties: {
    events: { type: 'array', items: AUDIT_EVENT, description: 'Oldest first.' },
    next_cursor: { type: ['string', 'null'], description: 'Pass as `cursor` for the next page; null on the last.' },
  },
} as const
