/** Prometheus metrics, on a registry of the app's own (so several apps can live in one process). */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { HashQueue } from './accounts/hash-queue.js'
import type { CredentialCache } from './accounts/credential-cache.js'
import { TokenActivity } from './token-activity.js'

export interface Metrics {
  registry: Registry
  tokensIssued: Counter
  /** Every refused POST /v1/token, by contract code. */
  tokenFailures: Counter<'code'>
  /** argon2id jobs started (checks and hashes); incremented by the hash queue. */
  hashChecks: Counter
  /** The last hour of token requests by minute, for the admin overview. */
  activity: TokenActivity
}

export function createMetrics(options: { defaultMetrics: boolean }): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'bizauth_' })
  const tokensIssued = new Counter({ name: 'bizauth_tokens_issued_total', help: 'Access tokens issued.', registers: [registry] })
  const tokenFailures = new Counter({ name: 'bizauth_token_failures_total', help: 'Token requests refused, by contract code.', labelNames: ['code'] as const, registers: [registry] })
  const hashChecks = new Counter({ name: 'bizauth_hash_checks_total', help: 'argon2id jobs started (password checks and hashes).', registers: [registry] })
  return { registry, tokensIssued, tokenFailures, hashChecks, activity: new TokenActivity() }
}

/** Gauges read from the live objects at scrape time. */
export function observeQueueAndCache(metrics: Metrics, queue: HashQueue, cache: CredentialCache): void {
  const registers = [metrics.registry]
  new Gauge({ name: 'bizauth_hash_queue_running', help: 'argon2id checks running.', registers, collect() { this.set(queue.running) } })
  new Gauge({ name: 'bizauth_hash_queue_waiting', help: 'argon2id checks waiting.', registers, collect() { this.set(queue.waiting) } })
  new Gauge({ name: 'bizauth_credential_cache_entries', help: 'Entries in the verified-credential cache.', registers, collect() { this.set(cache.size) } })
}
