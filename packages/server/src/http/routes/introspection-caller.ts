/**
 * Who may introspect and read the revocation feed (docs/wire.md): Basic credentials of an
 * account with the `introspect` role, checked by the same Authenticator as POST /v1/token (so
 * the lockout, IP limits and credential cache apply). Every failure is 3005, except 3008, which
 * keeps its Retry-After: a caller that is being limited must learn when to come back.
 */
import type { FastifyRequest } from 'fastify'
import type { Authenticator } from '../../accounts/authenticate.js'
import { ContractError } from '../../errors.js'
import type { Cidr } from '../../net/cidr.js'
import type { Account } from '../../store/store.js'
import { noteCaller } from '../access-log.js'
import { parseBasicCredentials } from '../basic-auth.js'
import { resolveClientIp } from '../client-ip.js'

const CALLER_REJECTED = 'This endpoint needs Basic credentials of an active account with the introspect role.'

export async function authenticateIntrospectionCaller(
  authenticator: Authenticator,
  request: FastifyRequest,
  trustProxy: readonly Cidr[],
): Promise<Account> {
  const clientIp = resolveClientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], trustProxy)
  const credentials = parseBasicCredentials(request.headers.authorization)
  const access = noteCaller(request, credentials, clientIp)
  let account: Account
  try {
    let cached: boolean
    ;({ account, cached } = await authenticator.authenticate(credentials, clientIp))
    access.outcome = cached ? 'cache_hit' : 'hash_check'
  } catch (error) {
    if (error instanceof ContractError && error.code !== '3008') throw new ContractError('3005', CALLER_REJECTED)
    throw error
  }
  if (!account.roles.includes('introspect')) throw new ContractError('3005', CALLER_REJECTED)
  return account
}
