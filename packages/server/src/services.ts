/**
 * The domain services one server runs, wired from a ServerConfig and a Store.
 * `buildApp` receives them; tests build them against a temp store and reach inside
 * (e.g. the hash queue's counter) to observe what HTTP does not show.
 */
import { hostname } from 'node:os'
import { RevocationList } from '@bizauth/verify/core'
import type { FastifyBaseLogger } from 'fastify'
import { Authenticator } from './accounts/authenticate.js'
import { CredentialCache } from './accounts/credential-cache.js'
import { Argon2Pool } from './accounts/argon2-pool.js'
import { HashQueue } from './accounts/hash-queue.js'
import { PasswordHasher, generatePassword } from './accounts/passwords.js'
import type { ServerConfig } from './config.js'
import { createKeyEncryption } from './keys/key-encryption.js'
import { KeyRing } from './keys/key-ring.js'
import { MemoryCounterStore, type CounterStore } from './limits/counter-store.js'
import { FallbackCounterStore, openSharedCounters, type FallbackLogger } from './limits/fallback-counter-store.js'
import { Limits } from './limits/limits.js'
import { FailureLog } from './failure-log.js'
import { createMetrics, measuredStore, observeQueueAndCache, observeRedis, observeSigningKeyAge, type Metrics } from './metrics.js'
import { RevocationFollower } from './revocation/revocation-follower.js'
import { TokenVerifier } from './tokens/verify-token.js'
import { createAuditSeal } from './store/audit-chain.js'
import type { AuditActor, AuditChanges, AuditSeal, AuditWriter, Store, StoreChange } from './store/store.js'
import { CLOCK_SKEW_SECONDS, TOKEN_LIFETIME_SECONDS } from './tokens/lifetime.js'

export { CLOCK_SKEW_SECONDS }
/** Revocations made elsewhere (CLI, other instances) reach this instance within about this long. */
const REVOCATION_POLL_MS = 1000
/** Expired revocations are pruned from the store about this often. */
const REVOCATION_PRUNE_MS = 10 * 60 * 1000
/** Audit events past the retention are pruned about this often (and once at start). */
const AUDIT_PRUNE_MS = 60 * 60 * 1000

export interface Services {
  config: ServerConfig
  store: Store
  hashQueue: HashQueue
  hasher: PasswordHasher
  credentialCache: CredentialCache
  limits: Limits
  authenticator: Authenticator
  keys: KeyRing
  metrics: Metrics
  /** What this instance knows is revoked, fed by `revocationFollower` and local revocations. */
  revocations: RevocationList
  revocationFollower: RevocationFollower
  /** Verifies our own tokens (introspection, revoke) with a cache of verified tokens. */
  tokenVerifier: TokenVerifier
  /** The audit trail's seal (HMAC under BIZAUTH_AUDIT_KEY, else SHA-256). */
  auditSeal: AuditSeal
  /** Who records a change: the server itself (source: this host) or a caller of its API (source: its IP). */
  auditWriter(actor: AuditActor, source?: string): AuditWriter
  /** What runs on a way down now (`redis`: counters per instance, in memory); readiness shows it. */
  degraded(): readonly string[]
  /** Stops timers; the store is closed by its owner. */
  stop(): Promise<void>
}

export interface ServiceOptions {
  /** Default: on Redis (with a fallback to memory) with config.redisUrl, else in memory. */
  counters?: CounterStore
  logger?: Pick<FastifyBaseLogger, 'error' | 'warn' | 'info'>
  /** Process-wide default metrics (event loop, memory); off in tests that build many apps. */
  defaultMetrics?: boolean
}

const SILENT: FallbackLogger = { warn: () => undefined, info: () => undefined }

/** The limits' counters: shared on Redis with --redis-url (memory answering while it is down), else in memory. */
async function openCounters(config: ServerConfig, logger: FallbackLogger | undefined): Promise<CounterStore> {
  if (config.redisUrl === undefined) return new MemoryCounterStore()
  return openSharedCounters({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, timeoutMs: config.redisTimeoutMs, logger: logger ?? SILENT })
}

export async function createServices(config: ServerConfig, unmeasuredStore: Store, options: ServiceOptions = {}): Promise<Services> {
  // Background work (the revocation poll each second, key refreshes) fails the same way for the
  // whole of an outage: one line per kind per interval, not one per attempt.
  const failures = options.logger && new FailureLog(options.logger)
  const logError = (message: string) => (error: unknown) => failures?.report(error, message)

  const startedAt = Date.now()
  const auditSeal = createAuditSeal(config.auditKey)
  const host = hostname()
  const auditWriter = (actor: AuditActor, source = host): AuditWriter => ({ context: { actor, source }, seal: auditSeal })

  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics ?? false })
  const store = measuredStore(unmeasuredStore, metrics)
  const hashQueue = new HashQueue(config.hashConcurrency, config.hashQueueMax, (waitedSeconds) => {
    metrics.hashChecks.inc()
    metrics.hashQueueWait.observe(waitedSeconds)
  })
  const argon2Pool = new Argon2Pool(config.hashConcurrency)
  const hasher = new PasswordHasher(config.argon2, hashQueue, argon2Pool)
  const credentialCache = new CredentialCache(config.credentialCacheTtlSeconds * 1000, config.credentialCacheMaxEntries)
  const counters: CounterStore = options.counters ?? (await openCounters(config, options.logger))
  if (counters instanceof FallbackCounterStore) observeRedis(metrics, counters)
  const limitsAudit = auditWriter({ type: 'system', id: 'limits' })
  const recordEpisode = async (action: 'security.lockout' | 'security.ip_block', target: string, changes: AuditChanges): Promise<void> => {
    // The lock is already in force; a trail that cannot be written must not fail the request that tripped it.
    await store.appendAuditEvent({ ...limitsAudit.context, action, target, changes }, auditSeal).catch(logError('audit event not recorded'))
  }
  const limits = new Limits(counters, config, {
    lockout: ({ accountId, level, seconds }) => {
      metrics.lockouts.inc()
      return recordEpisode('security.lockout', accountId, { level: [level - 1, level], locked_seconds: [0, seconds] })
    },
    ipBlock: ({ address, seconds }) => {
      metrics.ipBlocks.inc()
      return recordEpisode('security.ip_block', address, { blocked_seconds: [0, seconds] })
    },
  })
  // Hashed outside the queue: start-up must not be refused by its own limit.
  const dummyHash = await new PasswordHasher(config.argon2).hash(generatePassword())
  const authenticator = new Authenticator({
    store,
    hasher,
    cache: credentialCache,
    limits,
    dummyHash,
    uniformAuthErrors: config.uniformAuthErrors,
    onUpgradeError: logError('password hash upgrade failed'),
  })
  const encryption = createKeyEncryption(config.keyEncryptionKey)
  // A start that fails from here on gives back what holds the process open (workers, the Redis connection).
  const releaseOnFailure = async (error: unknown): Promise<never> => {
    await argon2Pool.close()
    await counters.close?.()
    throw error
  }
  const keys = await KeyRing.open(store, {
    algorithm: config.signingAlgorithm,
    encryption,
    promotionDelaySeconds: config.keyPromotionDelaySeconds,
    rotationIntervalSeconds: config.keyRotationIntervalDays * 86400,
    refreshSeconds: config.keyRefreshSeconds,
    clockSkewSeconds: CLOCK_SKEW_SECONDS,
    audit: auditWriter({ type: 'system', id: 'rotation' }),
    onError: logError('signing key refresh failed'),
  }).catch(releaseOnFailure)
  keys.start()
  const revocations = new RevocationList(TOKEN_LIFETIME_SECONDS)
  const revocationFollower = new RevocationFollower(store, revocations, {
    pollIntervalMs: REVOCATION_POLL_MS,
    pruneIntervalMs: REVOCATION_PRUNE_MS,
    clockSkewSeconds: CLOCK_SKEW_SECONDS,
    // Counted from this start on: the feed's history, read at start, is not a rate.
    onApplied: (event) => {
      if (event.createdAt.getTime() >= startedAt) metrics.revocations.inc({ kind: event.kind })
    },
    onError: logError('revocation feed poll failed'),
  })
  try {
    await revocationFollower.start()
  } catch (error) {
    keys.stop()
    return releaseOnFailure(error)
  }
  // Subscribed once everything it drives has loaded; on PostgreSQL this opens the listening connection.
  const stopFollowingChanges = store.onChange(
    applyStoreChange({ credentialCache, revocationFollower, keys, onError: logError('applying a store change failed') }),
  )
  const tokenVerifier = new TokenVerifier({ keys, store, revocations }, { issuer: config.issuer })
  observeQueueAndCache(metrics, hashQueue, credentialCache)
  observeSigningKeyAge(metrics, keys)

  // Every instance prunes; the chain's head row serialises them, and a second pass finds nothing.
  const pruneAudit = (): void => {
    store.pruneAuditEvents(new Date(Date.now() - config.auditRetentionDays * 86_400_000)).catch(logError('audit trail pruning failed'))
  }
  pruneAudit()
  const auditPruneTimer = setInterval(pruneAudit, AUDIT_PRUNE_MS).unref()

  return {
    config,
    store,
    hashQueue,
    hasher,
    credentialCache,
    limits,
    authenticator,
    keys,
    metrics,
    revocations,
    revocationFollower,
    tokenVerifier,
    auditSeal,
    auditWriter,
    degraded: () => (counters instanceof FallbackCounterStore && !counters.up ? ['redis'] : []),
    async stop() {
      stopFollowingChanges()
      clearInterval(auditPruneTimer)
      keys.stop()
      revocationFollower.stop()
      await argon2Pool.close()
      await counters.close?.()
    },
  }
}

/**
 * What a change committed anywhere on the database does here at once (issue 9 §3), instead of
 * at the next poll or refresh. Each timer stays as the safety net, and each catches up on its
 * own after an outage: the follower's cursor, the key ring's full reload, and the credential
 * cache's version check on every hit.
 */
function applyStoreChange(targets: {
  credentialCache: CredentialCache
  revocationFollower: RevocationFollower
  keys: KeyRing
  onError: (error: unknown) => void
}): (change: StoreChange) => void {
  const { credentialCache, revocationFollower, keys, onError } = targets
  const pollRevocations = (): void => void revocationFollower.pollNow().catch(onError)
  const refreshKeys = (): void => void keys.refreshNow().catch(onError)
  return (change) => {
    switch (change.kind) {
      case 'account':
        credentialCache.evictAccount(change.id)
        return
      case 'accounts':
        credentialCache.clear()
        return
      case 'revocation':
        pollRevocations()
        return
      case 'keys':
        refreshKeys()
        return
      case 'resync':
        credentialCache.clear()
        pollRevocations()
        refreshKeys()
        return
    }
  }
}
