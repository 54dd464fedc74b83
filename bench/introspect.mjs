/**
 * Introspection over HTTP (issue 4, Benchmark): `POST /v1/token/introspect` with the same token
 * again and again (the verified-token cache and the caller's credential cache are warm), beside a
 * raw node:http server answering a request of the same shape with a body of the same size, in
 * the same run, in alternating rounds. Figures and ratios only; nothing here passes or fails on time.
 *
 * Goal printed: introspection reaches a quarter of the raw server's req/s.
 *
 *   import { runIntrospectBench } from './introspect.mjs'
 *   await runIntrospectBench({ seconds: 10, connections: 50 })
 *
 * Run alone: `node bench/introspect.mjs` (BENCH_SECONDS, BENCH_CONNECTIONS).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { basicAuthorization, benchPassword } from './lib/accounts.mjs'
import { forkWorker, startBizauth, stopChild } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'
import { serverModule } from './lib/paths.mjs'

const WARM_UP_SECONDS = 2
const GOAL_RATIO = 1 / 4
const ROUNDS = 2

/** Several runs as one: rates over the total time; percentiles as the worst round's (conservative). */
function combine(runs) {
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0)
  const total = (key) => runs.reduce((sum, run) => sum + run[key], 0)
  const worst = (key) => Math.max(...runs.map((run) => run[key] ?? 0))
  return {
    connections: runs[0].connections,
    seconds,
    requests: total('requests'),
    rps: round(total('requests') / seconds, 1),
    ok: total('ok'),
    okRps: round(total('ok') / seconds, 1),
    non200: total('non200'),
    errors: total('errors'),
    timeouts: total('timeouts'),
    p50: worst('p50'),
    p99: worst('p99'),
    rounds: runs,
  }
}
const workerPath = (name) => fileURLToPath(new URL(`./lib/${name}`, import.meta.url))

/** The caller (introspect role) and the token holder, straight through the store. */
async function seed(dataDir, password) {
  const { openStore } = await import(serverModule('store/open.js'))
  const { PasswordHasher } = await import(serverModule('accounts/passwords.js'))
  const { DEFAULTS } = await import(serverModule('config.js'))
  const passwordHash = await new PasswordHasher(DEFAULTS.argon2).hash(password)
  const store = await openStore({ dataDir })
  try {
    await store.migrate()
    await store.createAccount({ id: 'bench-holder', passwordHash, allowedIps: ['127.0.0.1/32'] })
    await store.createAccount({ id: 'bench-rs', passwordHash, allowedIps: ['127.0.0.1/32'], roles: ['introspect'] })
  } finally {
    await store.close()
  }
}

async function introspectOnce(url, headers, body) {
  const response = await fetch(`${url}/v1/token/introspect`, { method: 'POST', headers, body })
  return { status: response.status, body: await response.text(), headers: Object.fromEntries(response.headers) }
}

function line(run) {
  return `${run.okRps} ok req/s (${run.rps} total), p50 ${run.p50} ms, p99 ${run.p99} ms, non-200 ${run.non200}, errors ${run.errors + run.timeouts}`
}

export async function runIntrospectBench({ seconds = 10, connections = 50, log = console.log } = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), 'bizauth-bench-introspect-'))
  const password = benchPassword()
  let server
  let rawChild
  try {
    await seed(dataDir, password)
    server = await startBizauth({ dataDir, flags: ['--rate-limit', '0'] })
    const issued = await fetch(`${server.url}/v1/token`, { method: 'POST', headers: { authorization: basicAuthorization('bench-holder', password) } })
    if (issued.status !== 200) throw new Error(`could not issue the bench token: HTTP ${issued.status}`)
    const { accesstoken } = await issued.json()
    const body = `token=${accesstoken}`
    const headers = { authorization: basicAuthorization('bench-rs', password), 'content-type': 'application/x-www-form-urlencoded' }
    const probe = await introspectOnce(server.url, headers, body)
    if (probe.status !== 200 || !probe.body.includes('"active":true')) throw new Error(`introspection probe answered HTTP ${probe.status}`)
    // Every request carries the same body: autocannon sends it with the headers.
    const setupRequest = (request) => ({ ...request, body })

    // The yardstick: node:http draining a request of the same size and answering a body of the same size.
    const forked = await forkWorker(workerPath('raw-server-worker.mjs'), {
      body: probe.body,
      headers: { 'content-type': probe.headers['content-type'], 'cache-control': 'no-store' },
    })
    rawChild = forked.child
    const rawUrl = forked.ready.url

    log(`introspect: the same token again and again, ${connections} connections, ${ROUNDS} alternating rounds of ${seconds / ROUNDS} s each`)
    await runLoad({ url: rawUrl, connections, seconds: WARM_UP_SECONDS, headers, setupRequest, path: '/v1/token' })
    await runLoad({ url: server.url, connections, seconds: WARM_UP_SECONDS, headers, setupRequest, path: '/v1/token/introspect' })
    // Alternating rounds: the machine is shared, so a neighbour's burst hits both sides alike.
    const rawRuns = []
    const introspectRuns = []
    for (let round_ = 0; round_ < ROUNDS; round_++) {
      rawRuns.push(await runLoad({ url: rawUrl, connections, seconds: seconds / ROUNDS, headers, setupRequest, path: '/v1/token' }))
      introspectRuns.push(await runLoad({ url: server.url, connections, seconds: seconds / ROUNDS, headers, setupRequest, path: '/v1/token/introspect' }))
      log(`  round ${round_ + 1}: raw ${rawRuns.at(-1).rps} req/s, introspection ${introspectRuns.at(-1).okRps} req/s`)
    }
    const rawRun = combine(rawRuns)
    const introspectRun = combine(introspectRuns)
    log(`  raw node:http: ${line(rawRun)}`)
    log(`  introspection: ${line(introspectRun)}`)

    const ratio = rawRun.rps > 0 ? introspectRun.okRps / rawRun.rps : 0
    const goal = {
      goal: 'introspection ≥ 1/4 of the raw server’s req/s',
      figure: `${introspectRun.okRps} / ${rawRun.rps} req/s = ${round(ratio * 100, 1)}% of raw`,
      met: ratio >= GOAL_RATIO,
    }
    log(`  ratio: ${goal.figure} — goal ${goal.met ? 'met' : 'NOT met'}`)
    const row = (name, run) => ({ name, connections, rps: run.rps, okRps: run.okRps, p50: run.p50, p99: run.p99, non200: run.non200, errors: run.errors + run.timeouts })
    return {
      rows: [row('raw node:http, same request and body size', rawRun), row('POST /v1/token/introspect, same token', introspectRun)],
      goals: [goal],
      ratio: round(ratio, 3),
      runs: { raw: rawRun, introspect: introspectRun },
    }
  } finally {
    if (rawChild) await stopChild(rawChild)
    await server?.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10)
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
  const result = await runIntrospectBench({ seconds, connections })
  console.table(result.rows)
  process.exit()
}
