export { createVerifier, type Verifier, type VerifierStats } from './create-verifier.js'
export { DEFAULTS, type VerifierOptions, type RevocationFeedOptions, type IntrospectionOptions } from './options.js'
export {
  VerifyError,
  VERIFY_ERROR_CODES,
  isVerifyError,
  type VerifyErrorCode,
  type VerifyFailureReason,
} from './errors.js'
export type { VerifiedClaims } from './lib/claims.js'
export type { KeyInput, PublicJwk, SupportedAlgorithm } from './lib/verification-key.js'
export type { KeysOption } from './lib/static-key-set.js'
export type { ServerCredentials } from './lib/server-endpoint.js'
export { bizauthFastify, bizauthPreHandler, type BizauthFastifyOptions } from './adapters/fastify.js'
export { bizauthMiddleware } from './adapters/connect.js'
export { withBizauth, verifyRequest, errorResponse } from './adapters/fetch.js'
export { renderFailure, type RenderedFailure } from './adapters/render-failure.js'
