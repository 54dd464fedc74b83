/**
 * `@bizauth/verify/core`: the pieces that define a valid bizauth token, for code that verifies
 * tokens its own way. The bizauth server's introspection and `/v1/token/revoke` are built on
 * them, so the server and every verifier refuse the same tokens for the same reasons.
 *
 * - compact-JWS parsing: three canonical base64url segments, JSON object header and payload;
 * - the signature check, with the algorithm taken from the key, never from the header, and the
 *   header rules (`crit`, `b64`, `typ`);
 * - the claim rules: `iss`, typed `sub`/`jti`/`iat`/`exp`/`nbf`, `exp` and `nbf` and `iat`
 *   against the clock, the lifetime bound;
 * - the revocation list fed by the revocations feed;
 * - a bounded LRU map (the verified-token cache);
 * - the `Authorization: Bearer` grammar;
 * - the contract codes and the reasons every refusal is named by.
 */
export { parseCompactJws, decodeJsonSegment, type CompactJws } from './lib/compact-jws.js'
export { validateClaims, assertTimely, type ClaimsPolicy, type VerifiedClaims } from './lib/claims.js'
export { verifySignedToken } from './lib/verify-signed-token.js'
export type { KeySet } from './lib/static-key-set.js'
export {
  importJwk,
  importKeyInput,
  type VerificationKey,
  type KeyInput,
  type PublicJwk,
  type SupportedAlgorithm,
} from './lib/verification-key.js'
export { RevocationList, type RevocableClaims, type RevokedBy } from './lib/revocation-list.js'
export { LruMap } from './lib/lru-map.js'
export { readBearerToken, readBearerCredential, assertB64Token } from './lib/bearer.js'
export {
  VerifyError,
  VERIFY_ERROR_CODES,
  isVerifyError,
  type VerifyErrorCode,
  type VerifyFailureReason,
  type HeaderFailureReason,
  type TokenFailureReason,
  type UnavailableReason,
} from './errors.js'
export { DEFAULTS } from './options.js'
