/**
 * The cost of the access log (issue 11 §2): the warm path (one account, the right password again
 * and again, credential cache hits, --rate-limit 0) with `--access-log on` and `--access-log
 * off`, in alternating rounds of the same run, each on a fresh server. The log goes to a pipe the
 * bench drains, as it would to a log collector. Figures and a ratio; nothing passes or fails on time.
 *
 * Goal printed: logging on costs under 10 % of the warm path's req/s.
 *
 *   import { runAccessLogBench } from './access-log.mjs'
 *   await runAccessLogBench({ seconds: 10 })
 *
 * Run alone: `node bench/access-log.mjs` (BENCH_SECONDS).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { basicAuthorization, benchPassword, seedAccounts } from './lib/accounts.mjs'
import { startBizauth, withCpuOf } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'

const CONNECTIONS = 50
const WARM_UP_SECONDS = 1
const ROUNDS = 2
const GOAL_COST = 0.1

export async function runAccessLogBench({ seconds, log = console.log }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'bizauth-bench-accesslog-'))
  const password = benchPassword()
  const headers = { authorization: basicAuthorization('bench-warm', password) }
  try {
    await seedAccounts(dataDir, password, [{ id: 'bench-warm', allowedIps: ['127.0.0.1/32'] }])
    const rounds = { on: [], off: [] }
    for (let i = 0; i < ROUNDS; i++) {
      for (const setting of i % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
        const server = await startBizauth({ dataDir, flags: ['--rate-limit', '0', '--access-log', setting] })
        try {
          await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers })
          const run = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds, headers }))
          rounds[setting].push(run)
          log(`  access log ${setting}, round ${i + 1}: ${run.okRps} ok/s, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.serverCpuUsPerRequest ?? '?'} µs CPU/request`)
        } finally {
          await server.stop()
        }
      }
    }
    const mean = (runs, key) => round(runs.reduce((sum, run) => sum + (run[key] ?? 0), 0) / runs.length, 1)
    const on = { okRps: mean(rounds.on, 'okRps'), p50: mean(rounds.on, 'p50'), p99: mean(rounds.on, 'p99'), cpuUsPerRequest: mean(rounds.on, 'serverCpuUsPerRequest') }
    const off = { okRps: mean(rounds.off, 'okRps'), p50: mean(rounds.off, 'p50'), p99: mean(rounds.off, 'p99'), cpuUsPerRequest: mean(rounds.off, 'serverCpuUsPerRequest') }
    const cost = off.okRps > 0 ? round(1 - on.okRps / off.okRps, 3) : null
    return {
      rows: [
        { name: 'warm, access log on', ...on },
        { name: 'warm, access log off', ...off },
      ],
      goals: [{ goal: `access log costs < ${GOAL_COST * 100}% of warm req/s`, figure: cost === null ? 'n/a' : `${round(cost * 100, 1)}%`, met: cost !== null && cost < GOAL_COST }],
      rounds,
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10)
  const result = await runAccessLogBench({ seconds })
  console.log(JSON.stringify({ rows: result.rows, goals: result.goals }, null, 2))
  process.exit()
}
