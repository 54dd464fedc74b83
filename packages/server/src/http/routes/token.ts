/** `POST /v1/token` (contract.md §1): Basic credentials in, `{accesstoken,type,expired}` out. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ContractError } from '../../errors.js'
import { issueAccessToken } from '../../tokens/issue-token.js'
import type { Services } from '../../services.js'
import { noteCaller } from '../access-log.js'
import { parseBasicCredentials } from '../basic-auth.js'
import { resolveClientIp } from '../client-ip.js'
import { countAccountRequest } from '../rate-limit.js'
import { sendJson } from '../render-error.js'

export function registerTokenRoute(app: FastifyInstance, services: Services): void {
  const { config, authenticator, limits, keys, metrics } = services
  const issueOptions = { issuer: config.issuer }

  app.post('/v1/token', async (request, reply) => {
    try {
      return await issueForRequest(request, reply)
    } catch (error) {
      const code = error instanceof ContractError ? error.code : '9000'
      metrics.tokenFailures.inc({ code })
      metrics.activity.refused(code)
      throw error
    }
  })

  async function issueForRequest(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const clientIp = resolveClientIp(request.socket.remoteAddress, request.headers['x-forwarded-for'], config.trustProxy)
    const credentials = parseBasicCredentials(request.headers.authorization)
    const access = noteCaller(request, credentials, clientIp)
    const { account, issuedAt, cached } = await authenticator.authenticate(credentials, clientIp)
    access.outcome = cached ? 'cache_hit' : 'hash_check'
    await countAccountRequest(limits, account.id, reply)
    const issued = await issueAccessToken(keys, issueOptions, account.id, issuedAt)
    metrics.tokensIssued.inc()
    access.jti = issued.jti
    metrics.activity.issued()
    // RFC 6749 §5.1 also asks token responses for the HTTP/1.0 spelling of no-store.
    return sendJson(reply.header('pragma', 'no-cache'), JSON.stringify(issued.response))
  }
}
