/**
 * Several real `bizauth serve` processes on one PostgreSQL database and one Redis, as an
 * operator runs them behind a load balancer (issue 9). Each suite gets its own scratch database
 * and its own Redis key prefix, so suites never see each other's rows or counters.
 *
 * `answer()` sends one request and reduces the answer to what the tests count: the status, the
 * contract code and the rate-limit headers. Requests go round-robin over the instances when the
 * caller says so, so every total the tests check is a total across instances.
 */
import { basic } from './app.js'
import { redisSkipReason } from './redis.js'
import { postgresSkipReason } from './postgres.js'
import { bizauthOk, serve, type ServeChild } from './server-process.js'

/** Why the cluster suites must be skipped (no PostgreSQL or no Redis), or undefined. */
export async function clusterSkipReason(): Promise<string | undefined> {
  return (await postgresSkipReason()) ?? (await redisSkipReason())
}


export interface Answer {
  status: number
  /** The contract code of an error answer; undefined for a token. */
  code: string | undefined
  accesstoken: string | undefined
  headers: Headers
}

export async function answer(url: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) })
  const text = await response.text()
  let body: { code?: unknown; accesstoken?: unknown } = {}
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    // /metrics and the like; the status is what counts
  }
  return {
    status: response.status,
    code: body.code === undefined ? undefined : String(body.code),
    accesstoken: typeof body.accesstoken === 'string' ? body.accesstoken : undefined,
    headers: response.headers,
  }
}

export function requestToken(url: string, account: string, password: string, forwardedFor?: string): Promise<Answer> {
  const headers: Record<string, string> = { authorization: basic(account, password) }
  if (forwardedFor) headers['x-forwarded-for'] = forwardedFor
  return answer(url, '/v1/token', { method: 'POST', headers })
}

/** Creates an account through the CLI (the password on stdin, never in argv). */
export async function createAccount(databaseUrl: string, id: string, password: string, allowedIps: readonly string[] = ['127.0.0.1'], extra: readonly string[] = []): Promise<void> {
  const allow = allowedIps.flatMap((ip) => ['--allow-ip', ip])
  await bizauthOk(['account', 'create', id, ...allow, '--password-stdin', '--database-url', databaseUrl, ...extra], { input: `${password}\n` })
}

export interface Cluster {
  readonly instances: readonly ServeChild[]
  /** The next instance, round-robin. */
  next(): ServeChild
  stop(): Promise<void>
}

/** With `redis`, every instance counts on it under `redis.keyPrefix` (a prefix of the suite's own: test/helpers/redis.ts testKeyPrefix). */
export async function startCluster(options: { count: number; databaseUrl: string; redis?: { url: string; keyPrefix: string }; args?: readonly string[] }): Promise<Cluster> {
  const args = [
    '--port', '0',
    '--database-url', options.databaseUrl,
    ...(options.redis ? ['--redis-url', options.redis.url, '--redis-key-prefix', options.redis.keyPrefix] : []),
    ...(options.args ?? []),
  ]
  const instances = await Promise.all(Array.from({ length: options.count }, () => serve(args, { timeoutMs: 60_000 })))
  let turn = 0
  return {
    instances,
    next: () => instances[turn++ % instances.length]!,
    async stop() {
      await Promise.all(instances.map((instance) => instance.kill('SIGKILL')))
    },
  }
}
