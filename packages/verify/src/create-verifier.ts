import { tokenInvalid, verifierUnavailable } from './errors.js'
import type { VerifiedClaims } from './lib/claims.js'
import { assertB64Token, readBearerCredential } from './lib/bearer.js'
import { parseCompactJws } from './lib/compact-jws.js'
import { LruMap } from './lib/lru-map.js'
import { introspectToken, type IntrospectionSettings } from './lib/introspection-client.js'
import { RemoteKeySet } from './lib/remote-key-set.js'
import { RevocationFollower } from './lib/revocation-follower.js'
import { RevocationList } from './lib/revocation-list.js'
import { basicAuthorization, endpointUrl } from './lib/server-endpoint.js'
import { StaticKeySet, type KeySet } from './lib/static-key-set.js'
import { verifySignedToken } from './lib/verify-signed-token.js'
import { resolveVerifierOptions, type VerifierOptions, type VerifierSettings } from './options.js'

/** Counters for tests, metrics and health checks. */
export interface VerifierStats {
  readonly cachedTokens: number
  readonly jwksFetches: number
  readonly revokedTokens: number
  readonly revokedAccounts: number
  readonly revocationPolls: number
  readonly revocationsSynced: boolean
}

/**
 * `verify(authorizationHeader)` resolves to the claims of a valid token, or rejects with a
 * {@link VerifyError}: 3005 for the header, 3002 for the token, 9000 when the verifier cannot
 * reach what it depends on. Callable itself, or through `.verify`; `close()` stops the
 * revocations follower.
 */
export interface Verifier {
  (authorization: unknown): Promise<VerifiedClaims>
  verify(authorization: unknown): Promise<VerifiedClaims>
  close(): void
  stats(): VerifierStats
}

interface CachedToken {
  readonly expiresAt: number
  readonly claims: VerifiedClaims
}

export function createVerifier(options: VerifierOptions): Verifier {
  const settings = resolveVerifierOptions(options)
  const keySet = createKeySet(settings)
  const verifiedTokens = new LruMap<string, CachedToken>(settings.cacheMaxEntries)
  const revocations = startRevocationFollower(settings)
  const introspect = settings.revocations.mode === 'introspect' ? createIntrospector(settings) : undefined
  const { clockToleranceSeconds, maxTokenLength } = settings

  async function verify(authorization: unknown): Promise<VerifiedClaims> {
    const token = readBearerCredential(authorization, maxTokenLength)
    if (revocations !== undefined && !revocations.follower.synced) await revocations.waitForFirstSync()
    const nowSeconds = settings.now() / 1000
    if (keySet === undefined) return introspectOnly(token, nowSeconds)
    let claims: VerifiedClaims
    const hit = verifiedTokens.get(token)
    if (hit !== undefined && nowSeconds < hit.expiresAt) {
      claims = hit.claims
    } else {
      if (hit !== undefined) verifiedTokens.delete(token)
      assertB64Token(token)
      claims = await verifySignedToken(token, keySet, settings, nowSeconds)
      verifiedTokens.set(token, { claims, expiresAt: claims.exp + clockToleranceSeconds })
    }
    // On every hit too: a token cached before its revocation was seen must fail from then on.
    if (revocations?.list.isRevoked(claims)) throw tokenInvalid('revoked')
    return introspect === undefined ? claims : introspect(token, nowSeconds)
  }

  /** HS256 deployments publish no key (wire.md): the server decides, after a local syntax check. */
  function introspectOnly(token: string, nowSeconds: number): Promise<VerifiedClaims> {
    assertB64Token(token)
    parseCompactJws(token)
    return introspect!(token, nowSeconds)
  }

  const verifier = ((authorization: unknown) => verify(authorization)) as Verifier
  verifier.verify = verify
  verifier.close = () => {
    revocations?.close()
    verifiedTokens.clear()
  }
  verifier.stats = () => ({
    cachedTokens: verifiedTokens.size,
    jwksFetches: keySet instanceof RemoteKeySet ? keySet.fetchCount : 0,
    revokedTokens: revocations?.list.revokedTokenCount ?? 0,
    revokedAccounts: revocations?.list.revokedAccountCount ?? 0,
    revocationPolls: revocations?.follower.pollCount ?? 0,
    revocationsSynced: revocations?.follower.synced ?? false,
  })
  return Object.freeze(verifier)
}

function createKeySet(settings: VerifierSettings): KeySet | undefined {
  switch (settings.keys.kind) {
    case 'static':
      return new StaticKeySet(settings.keys.option)
    case 'remote':
      return new RemoteKeySet({
        url: settings.keys.url,
        refetchIntervalMs: settings.jwksRefetchIntervalMs,
        defaultMaxAgeMs: settings.jwksDefaultMaxAgeMs,
        timeoutMs: settings.requestTimeoutMs,
        fetch: settings.fetch,
        now: settings.now,
        onError: settings.onError,
      })
    case 'none':
      return undefined
  }
}

/**
 * The offline mode: follow the feed, and until its first snapshot is in, make `verify()` wait
 * (at most `initialSyncTimeoutMs`, then 9000): accepting tokens before knowing what was revoked
 * would accept revoked ones.
 */
function startRevocationFollower(settings: VerifierSettings) {
  const revocationSettings = settings.revocations
  if (revocationSettings.mode !== 'feed') return undefined
  const list = new RevocationList(settings.maxTokenLifetimeSeconds)
  const follower = new RevocationFollower(list, {
    feedUrl: endpointUrl(revocationSettings.url, 'v1/token/revocations'),
    authorization: basicAuthorization(revocationSettings.credentials),
    pollIntervalMs: revocationSettings.pollIntervalMs,
    timeoutMs: settings.requestTimeoutMs,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    fetch: settings.fetch,
    now: settings.now,
    onError: settings.onError,
  })
  let windowTimer: NodeJS.Timeout | undefined
  const initialWindowClosed = new Promise<void>((resolve) => {
    windowTimer = setTimeout(resolve, revocationSettings.initialSyncTimeoutMs)
    windowTimer.unref()
  })
  follower.start()
  return {
    list,
    follower,
    async waitForFirstSync(): Promise<void> {
      await Promise.race([follower.firstSync, initialWindowClosed])
      if (!follower.synced) throw verifierUnavailable('revocations_unavailable')
    },
    close(): void {
      clearTimeout(windowTimer)
      follower.close()
    },
  }
}

/**
 * Introspection mode: every token is also asked about, the answer reused for `cacheMs` (bounded
 * by the token's exp). Concurrent requests with the same token share one introspection.
 */
function createIntrospector(settings: VerifierSettings) {
  const revocationSettings = settings.revocations as Extract<VerifierSettings['revocations'], { mode: 'introspect' }>
  const introspection: IntrospectionSettings = {
    introspectUrl: endpointUrl(revocationSettings.url, 'v1/token/introspect'),
    authorization: basicAuthorization(revocationSettings.credentials),
    issuer: settings.issuer,
    clockToleranceSeconds: settings.clockToleranceSeconds,
    timeoutMs: settings.requestTimeoutMs,
    fetch: settings.fetch,
    onError: settings.onError,
  }
  const answers = new LruMap<string, CachedToken>(settings.cacheMaxEntries)
  const inFlight = new Map<string, Promise<VerifiedClaims>>()
  return async (token: string, nowSeconds: number): Promise<VerifiedClaims> => {
    const hit = answers.get(token)
    if (hit !== undefined && nowSeconds < hit.expiresAt) return hit.claims
    let pending = inFlight.get(token)
    if (pending === undefined) {
      pending = introspectToken(token, introspection, nowSeconds).finally(() => inFlight.delete(token))
      inFlight.set(token, pending)
    }
    const claims = await pending
    const expiresAt = Math.min(claims.exp + settings.clockToleranceSeconds, nowSeconds + revocationSettings.cacheMs / 1000)
    answers.set(token, { claims, expiresAt })
    return claims
  }
}
