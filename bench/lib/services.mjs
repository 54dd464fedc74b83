/**
 * The services the benches may use, where they are and how to get a database of one's own.
 *
 * PostgreSQL: BIZAUTH_BENCH_DATABASE_URL, else BIZAUTH_TEST_DATABASE_URL (undefined: skip it).
 * Redis: BENCH_REDIS_URL, else BIZAUTH_TEST_REDIS_URL, else redis://127.0.0.1:6379.
 */
export function benchPostgresUrl() {
  return process.env.BIZAUTH_BENCH_DATABASE_URL ?? process.env.BIZAUTH_TEST_DATABASE_URL
}

export const POSTGRES_SKIPPED = 'PostgreSQL skipped (set BIZAUTH_BENCH_DATABASE_URL or BIZAUTH_TEST_DATABASE_URL)'

export function benchRedisUrl() {
  return process.env.BENCH_REDIS_URL || process.env.BIZAUTH_TEST_REDIS_URL || 'redis://127.0.0.1:6379'
}

/** A database of its own on the server at `url`, dropped afterwards. */
export async function withScratchDatabase(url, work) {
  const { default: pg } = await import('pg')
  const name = `bizauth_bench_${process.pid}_${Date.now()}`
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
    const scratch = new URL(url)
    scratch.pathname = `/${name}`
    try {
      return await work(scratch.toString())
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`)
    }
  } finally {
    await admin.end()
  }
}
