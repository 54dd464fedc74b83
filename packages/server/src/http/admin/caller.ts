/**
 * Who may call the admin API (issue 10 §2): `Authorization: Bearer <token>` of a token from
 * POST /v1/token, verified as introspection verifies it (@bizauth/verify/core), of an account
 * that still exists, whose allow-list admits the caller's IP and whose rate limit is not spent
 * (contract.md §6), with the role the request needs: `admin` for changes, `admin` or `viewer` to read.
 *
 *   no or malformed Bearer ............... 400 3005
 *   invalid, expired or revoked token .... 400 3002
 *   allow-list refuses the caller ........ 400 3000 / 3003 / 3010
 *   rate limit spent ..................... 429 5002 (Retry-After, RateLimit-*)
 *   a valid token without the role ....... 403 3005, naming the role
 */
import type { FastifyRequest } from 'fastify'
import { ContractError, RoleRequiredError } from '../../errors.js'
import type { Services } from '../../services.js'
import type { Account, AccountRole } from '../../store/store.js'
import { resolveClientIp } from '../client-ip.js'
import { countAccountRequest } from '../rate-limit.js'
import { bearerTokenOf } from '../routes/revoke.js'
import { formatIpAddress } from '../../net/cidr.js'

const SEND_ADMIN_BEARER = 'Send "Authorization: Bearer <token>", a token of POST /v1/token for an account with the role admin or viewer.'

/** `read`: the GET endpoints, open to `viewer`; `write`: every change, `admin` only. */
export type AdminAccess = 'read' | 'write'

const ROLES_FOR: Record<AdminAccess, readonly AccountRole[]> = { read: ['admin', 'viewer'], write: ['admin'] }

export interface AdminCaller {
  account: Account
  /** The caller's address after the trust-proxy rules: the source the audit trail records. */
  clientIp: string
}

export function adminCallerCheck(services: Services): (request: FastifyRequest, access: AdminAccess) => Promise<AdminCaller> {
  const { tokenVerifier, store, authenticator, limits, config } = services
  return async (request, access) => {
    const token = bearerTokenOf(request.headers.authorization, tokenVerifier.maxTokenLength, SEND_ADMIN_BEARER)
    const verdict = await tokenVerifier.verify(token)
    if (!verdict.active) throw new ContractError('3002')
    const account = await store.getAccount(verdict.claims.sub)
    if (!account || account.status !== 'active') throw new ContractError('3002')
    const clientIp = resolveClientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], config.trustProxy)
    const refusal = authenticator.allowListRefusal(account, clientIp)
    if (refusal) throw refusal
    // Counted without a reply: only a refusal tells the window (the renderer's RateLimit-* headers).
    await countAccountRequest(limits, account.id)
    const allowed = ROLES_FOR[access]
    if (!allowed.some((role) => account.roles.includes(role))) throw RoleRequiredError(allowed.join(' or '))
    return { account, clientIp: formatIpAddress(clientIp!) }
  }
}
