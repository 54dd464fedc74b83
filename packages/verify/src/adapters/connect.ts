import type { Verifier } from '../create-verifier.js'
import type { VerifiedClaims } from '../lib/claims.js'
import type { VerifierOptions } from '../options.js'
import { renderFailure, verifierFrom } from './render-failure.js'

// node:http's IncomingMessage and ServerResponse fit these, and so do Express's req and res.
interface ConnectRequestLike {
  readonly headers: { readonly authorization?: string | string[] | undefined }
  bizauth?: VerifiedClaims
}
interface ConnectResponseLike {
  statusCode: number
  setHeader(name: string, value: string | number): unknown
  end(body: string): unknown
}

/**
 * Express/Connect middleware `(req, res, next)`: sets `req.bizauth` to the claims and calls
 * `next()`, or answers 400 `{"code","description"}` itself and does not call `next`.
 */
export function bizauthMiddleware(verifierOrOptions: Verifier | VerifierOptions) {
  const { verifier } = verifierFrom(verifierOrOptions)
  return function bizauthConnectMiddleware(req: ConnectRequestLike, res: ConnectResponseLike, next: (error?: unknown) => void): void {
    verifier.verify(req.headers.authorization).then(
      (claims) => {
        req.bizauth = claims
        next()
      },
      (error: unknown) => {
        const failure = renderFailure(error)
        res.statusCode = failure.status
        res.setHeader('content-type', failure.contentType)
        res.setHeader('content-length', Buffer.byteLength(failure.body))
        res.end(failure.body)
      },
    )
  }
}
