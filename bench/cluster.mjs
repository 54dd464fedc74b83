/**
 * Three instances as one (issue 9): warm token requests spread over three `bizauth serve` on one
 * PostgreSQL database and one Redis, against the same load on one instance, in the same run.
 *
 * The three share the connections (50 in all, split between them) and the counters (one Redis
 * prefix of this run's own). On this machine's two cores three servers and the load generator
 * compete for the same CPU, so the ratio shows what the shared state costs, not how far a real
 * deployment (a core or more per instance) scales.
 *
 * PostgreSQL: BIZAUTH_BENCH_DATABASE_URL, else BIZAUTH_TEST_DATABASE_URL (a scratch database is
 * created and dropped). Redis: BENCH_REDIS_URL, else BIZAUTH_TEST_REDIS_URL, else
 * redis://127.0.0.1:6379. Without either the scenario is skipped, and says so.
 *
 *   import { runClusterBench } from './cluster.mjs'
 *   await runClusterBench({ seconds: 10 })
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { basicAuthorization, benchPassword, seedAccounts } from './lib/accounts.mjs'
import { startBizauth, withCpuOf } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'
import { POSTGRES_SKIPPED, benchPostgresUrl, benchRedisUrl, withScratchDatabase } from './lib/services.mjs'

const INSTANCES = 3
const CONNECTIONS = 51
const WARM_UP_SECONDS = 1
const ACCOUNT = 'bench-cluster'

export async function runClusterBench({ seconds, log = console.log }) {
  const postgresUrl = benchPostgresUrl()
  if (!postgresUrl) {
    log(`  ${POSTGRES_SKIPPED}`)
    return { skipped: 'no PostgreSQL' }
  }
  const redisUrl = benchRedisUrl()
  const password = benchPassword()
  const headers = { authorization: basicAuthorization(ACCOUNT, password) }
  const unusedDir = await mkdtemp(join(tmpdir(), 'bizauth-bench-cluster-'))
  try {
    return await withScratchDatabase(postgresUrl, async (databaseUrl) => {
      await seedAccounts({ databaseUrl }, password, [{ id: ACCOUNT, allowedIps: ['127.0.0.1/32'] }])
      const flags = ['--rate-limit', '0', '--admin-port', 'off', '--database-url', databaseUrl, '--redis-url', redisUrl, '--redis-key-prefix', `bizauth-bench-${process.pid}-${randomBytes(3).toString('hex')}:`]
      const measure = async (count) => {
        const servers = await Promise.all(Array.from({ length: count }, () => startBizauth({ dataDir: unusedDir, flags })))
        try {
          const share = Math.floor(CONNECTIONS / count)
          await Promise.all(servers.map((server) => runLoad({ url: server.url, connections: share, seconds: WARM_UP_SECONDS, headers })))
          const runs = await Promise.all(servers.map((server) => withCpuOf(server.child, () => runLoad({ url: server.url, connections: share, seconds, headers }))))
          const sum = (key) => round(runs.reduce((total, run) => total + (run[key] ?? 0), 0), 1)
          const worst = (key) => Math.max(...runs.map((run) => run[key] ?? 0))
          const row = { name: `${count} instance${count > 1 ? 's' : ''}, ${share * count} connections`, okRps: sum('okRps'), non200: sum('non200'), p50: worst('p50'), p99: worst('p99'), cpuUsPerRequest: round(runs.reduce((total, run) => total + (run.serverCpuUsPerRequest ?? 0) * run.ok, 0) / Math.max(1, sum('ok')), 0) }
          log(`  ${row.name}: ${row.okRps} ok/s, p50 ${row.p50} ms, p99 ${row.p99} ms (worst instance), ${row.cpuUsPerRequest} µs CPU/request${row.non200 ? `, ${row.non200} non-200` : ''}`)
          return row
        } finally {
          await Promise.all(servers.map((server) => server.stop()))
        }
      }
      const one = await measure(1)
      const three = await measure(INSTANCES)
      const ratio = one.okRps > 0 ? round(three.okRps / one.okRps, 3) : null
      log(`  ${INSTANCES} instances ÷ 1: ${ratio} of the ok/s (two cores for every server and the load generator)`)
      return { rows: [one, three], ratios: { [`${INSTANCES} instances ÷ 1, 200/s`]: ratio } }
    })
  } finally {
    await rm(unusedDir, { recursive: true, force: true })
  }
}
