/** Provisional: replaced by the Redis counters' own helper at merge. */
import { postgresSkipReason } from './postgres.js'
export const REDIS_URL_VARIABLE = 'BIZAUTH_TEST_REDIS_URL'
export async function redisSkipReason(): Promise<string | undefined> {
  void postgresSkipReason
  return process.env[REDIS_URL_VARIABLE] ? undefined : `${REDIS_URL_VARIABLE} not set`
}
