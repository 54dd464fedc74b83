/**
 * Prometheus metrics (issue 11 §3), on a registry of the app's own (so several apps can live in
 * one process). Counters end in `_total`, durations are in seconds and say so.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { HashQueue } from './accounts/hash-queue.js'
import type { CredentialCache } from './accounts/credential-cache.js'
import type { KeyRing } from './keys/key-ring.js'
import type { RevocationKind, Store } from './store/store.js'

/** How a request that checks a password was decided: by the credential cache, by argon2id, or not at all. */
export type RequestOutcome = 'cache_hit' | 'hash_check' | 'refused'
export type MeasuredRoute = 'token' | 'introspection'
import { TokenActivity } from './token-activity.js'

export interface Metrics {
  registry: Registry
  tokensIssued: Counter
  /** Every refused POST /v1/token, by contract code. */
  tokenFailures: Counter<'code'>
  /** argon2id jobs started (checks and hashes); incremented by the hash queue. */
  hashChecks: Counter
  /** Seconds each argon2id job waited in the queue before it started. */
  hashQueueWait: Histogram
  lockouts: Counter
  ipBlocks: Counter
  /** Revocations this instance learned from the feed (its own included), by kind. */
  revocations: Counter<'kind'>
  storeQueryDuration: Histogram<'operation'>
  /** One answer of a measured route: counted by code (`ok` for 200) and timed by outcome. */
  observeRequest(route: MeasuredRoute, code: string, outcome: RequestOutcome, seconds: number): void
  /** The last hour of token requests by minute, for the admin overview. */
  activity: TokenActivity
}

/** From a cache hit (well under a millisecond) to a queued argon2id check (hundreds of ms). */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const QUEUE_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const STORE_BUCKETS = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5]

export function createMetrics(options: { defaultMetrics: boolean }): Metrics {
  const registry = new Registry()
  const registers = [registry]
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'bizauth_' })
  const tokensIssued = new Counter({ name: 'bizauth_tokens_issued_total', help: 'Access tokens issued.', registers })
  const tokenFailures = new Counter({ name: 'bizauth_token_failures_total', help: 'Token requests refused, by contract code.', labelNames: ['code'] as const, registers })
  const hashChecks = new Counter({ name: 'bizauth_hash_checks_total', help: 'argon2id jobs started (password checks and hashes).', registers })
  const hashQueueWait = new Histogram({ name: 'bizauth_hash_queue_wait_seconds', help: 'Time an argon2id job waited in the hash queue before it started.', buckets: QUEUE_WAIT_BUCKETS, registers })
  const lockouts = new Counter({ name: 'bizauth_lockouts_total', help: 'Accounts locked after consecutive wrong passwords (one per episode).', registers })
  const ipBlocks = new Counter({ name: 'bizauth_ip_blocks_total', help: 'Client addresses (or IPv6 /64s) blocked after repeated failures (one per episode).', registers })
  const revocations = new Counter({ name: 'bizauth_revocations_total', help: 'Revocations read from the feed, by kind (jti: one token; account: all its earlier tokens).', labelNames: ['kind'] as const, registers })
  const storeQueryDuration = new Histogram({ name: 'bizauth_store_query_duration_seconds', help: 'Duration of store operations, by operation.', labelNames: ['operation'] as const, buckets: STORE_BUCKETS, registers })

  const requests = {
    token: {
      count: new Counter({ name: 'bizauth_token_requests_total', help: 'POST /v1/token answers, by contract code (ok for 200).', labelNames: ['code'] as const, registers }),
      duration: new Histogram({ name: 'bizauth_token_request_duration_seconds', help: 'POST /v1/token latency, by outcome (cache_hit, hash_check, refused).', labelNames: ['outcome'] as const, buckets: REQUEST_BUCKETS, registers }),
    },
    introspection: {
      count: new Counter({ name: 'bizauth_introspection_requests_total', help: 'POST /v1/token/introspect answers, by contract code (ok for 200).', labelNames: ['code'] as const, registers }),
      duration: new Histogram({ name: 'bizauth_introspection_request_duration_seconds', help: 'POST /v1/token/introspect latency, by how the caller was authenticated (cache_hit, hash_check, refused).', labelNames: ['outcome'] as const, buckets: REQUEST_BUCKETS, registers }),
    },
  }
  // Known label values start at 0, so a rate() over them exists before the first event.
  for (const pair of Object.values(requests)) for (const outcome of ['cache_hit', 'hash_check', 'refused'] as const) pair.duration.zero({ outcome })
  for (const kind of ['jti', 'account'] satisfies RevocationKind[]) revocations.inc({ kind }, 0)
  requests.token.count.inc({ code: 'ok' }, 0)

  return {
    registry,
    tokensIssued,
    tokenFailures,
    hashChecks,
    hashQueueWait,
    lockouts,
    ipBlocks,
    revocations,
    storeQueryDuration,
    activity: new TokenActivity(),
    observeRequest(route, code, outcome, seconds) {
      requests[route].count.inc({ code })
      requests[route].duration.observe({ outcome }, seconds)
    },
  }
}

/** Gauges read from the live objects at scrape time. */
export function observeQueueAndCache(metrics: Metrics, queue: HashQueue, cache: CredentialCache): void {
  const registers = [metrics.registry]
  new Gauge({ name: 'bizauth_hash_queue_running', help: 'argon2id checks running.', registers, collect() { this.set(queue.running) } })
  new Gauge({ name: 'bizauth_hash_queue_waiting', help: 'argon2id checks waiting.', registers, collect() { this.set(queue.waiting) } })
  new Gauge({ name: 'bizauth_credential_cache_entries', help: 'Entries in the verified-credential cache.', registers, collect() { this.set(cache.size) } })
}

/**
 * 1 while the counters are shared on Redis, 0 while this instance counts in memory. Registered
 * only with --redis-url: an instance that never uses Redis has nothing to report, and a 0 there
 * would page someone for an outage that is not one.
 */
export function observeRedis(metrics: Metrics, counters: { readonly up: boolean }): void {
  new Gauge({ name: 'bizauth_redis_up', help: 'Whether Redis answers (1) or this instance counts its limits in memory (0).', registers: [metrics.registry], collect() { this.set(counters.up ? 1 : 0) } })
}

/** Seconds since the signing key in use became current: an alert when rotation stalls. */
export function observeSigningKeyAge(metrics: Metrics, keys: KeyRing, now: () => number = Date.now): void {
  new Gauge({
    name: 'bizauth_signing_key_age_seconds',
    help: 'Seconds since the current signing key became current.',
    registers: [metrics.registry],
    collect() {
      const key = keys.current
      const since = (key.activatedAt ?? key.createdAt).getTime()
      this.set(Math.max(0, (now() - since) / 1000))
    },
  })
}

/**
 * The store with every operation timed into bizauth_store_query_duration_seconds{operation}.
 * A wrapper rather than a hook in each dialect: one place, and the same names as the Store
 * interface on both. A transaction is timed as a whole (its steps run on its own executor).
 */
export function measuredStore(store: Store, metrics: Metrics): Store {
  const measured: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(store)) {
    // onChange is synchronous (it returns the unsubscribe function) and no query: not timed.
    if (typeof member !== 'function' || name === 'close' || name === 'migrate' || name === 'onChange') {
      measured[name] = member
      continue
    }
    const operation = member as (...args: unknown[]) => Promise<unknown>
    const histogram = metrics.storeQueryDuration.labels({ operation: name })
    measured[name] = async (...args: unknown[]) => {
      const stop = histogram.startTimer()
      try {
        return await operation.apply(store, args)
      } finally {
        stop()
      }
    }
  }
  return measured as unknown as Store
}
