/**
 * The Redis named by BIZAUTH_TEST_REDIS_URL, shared by every suite: each suite writes under a
 * key prefix of its own (`bizauth-test-<pid>-<random>:`), so suites running side by side never
 * see each other's keys, and deletes them when it is done.
 *
 *   const skip = await redisSkipReason()
 *   describe('on Redis', { skip }, () => {
 *     let prefix: TestKeyPrefix
 *     before(() => { prefix = testKeyPrefix() })
 *     after(() => prefix.clean())
 *     ...
 *   })
 *
 * Without the variable the suite is skipped with the reason "BIZAUTH_TEST_REDIS_URL not set".
 * With BIZAUTH_REQUIRE_SERVICES=1 (CI), an unreachable server is not a reason to skip: the
 * suite runs and fails. (The pattern of helpers/postgres.ts.)
 */
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL_VARIABLE = 'BIZAUTH_TEST_REDIS_URL'
export const REDIS_NOT_SET_REASON = `${REDIS_URL_VARIABLE} not set`

function servicesRequired(): boolean {
  return process.env.BIZAUTH_REQUIRE_SERVICES === '1'
}

export function redisTestUrl(): string {
  const url = process.env[REDIS_URL_VARIABLE] || undefined
  if (!url) throw new Error(REDIS_NOT_SET_REASON)
  return url
}

/** host and port of the test Redis, for a TCP proxy in front of it. */
export function redisTestAddress(): { host: string; port: number } {
  const url = new URL(redisTestUrl())
  return { host: url.hostname, port: Number(url.port || 6379) }
}

/** A client that fails rather than waits when the server is away (tests must not hang). */
export function testRedisClient(url = redisTestUrl()): Redis {
  const redis = new Redis(url, { connectTimeout: 5000, maxRetriesPerRequest: 1, lazyConnect: false })
  redis.on('error', () => undefined)
  return redis
}

/**
 * Why Redis tests must be skipped, or undefined when they should run. Never includes the URL
 * itself (it may carry a password).
 */
export async function redisSkipReason(): Promise<string | undefined> {
  const url = process.env[REDIS_URL_VARIABLE] || undefined
  if (!url) return REDIS_NOT_SET_REASON
  if (servicesRequired()) return undefined
  const redis = new Redis(url, { connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
  redis.on('error', () => undefined)
  try {
    await redis.connect()
    await redis.ping()
    return undefined
  } catch (error) {
    return `Redis at ${REDIS_URL_VARIABLE} is unreachable (${(error as Error).message})`
  } finally {
    redis.disconnect()
  }
}

export interface TestKeyPrefix {
  readonly prefix: string
  /** Every key under the prefix. */
  keys(): Promise<string[]>
  /** Deletes every key under the prefix and closes the helper's client. */
  clean(): Promise<void>
}

export function testKeyPrefix(): TestKeyPrefix {
  const prefix = `bizauth-test-${process.pid}-${randomBytes(4).toString('hex')}:`
  const redis = testRedisClient()
  const keys = async (): Promise<string[]> => {
    const found: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      found.push(...batch)
      cursor = next
    } while (cursor !== '0')
    return found
  }
  return {
    prefix,
    keys,
    async clean() {
      const found = await keys()
      for (let i = 0; i < found.length; i += 1000) await redis.del(...found.slice(i, i + 1000))
      redis.disconnect()
    },
  }
}
