/**
 * `scale` (issue 12 §4): a million accounts.
 *
 *   import   `bizauth account import` of 1,000,000 JSON lines sharing one precomputed argon2id
 *            hash, on SQLite, and on PostgreSQL when BIZAUTH_BENCH_DATABASE_URL or
 *            BIZAUTH_TEST_DATABASE_URL names a server (a database of its own is created and dropped)
 *   warm     POST /v1/token rotating over 10,000 distinct cached accounts of the 1M store, against
 *            the same run over the 1,000 accounts of a 1k store (a 1k store has no 10,000 accounts)
 *   rss      the most resident memory of `bizauth serve` on the 1M store during its warm run
 *
 * The accounts' hash has cheap argon2id parameters, and the servers are told the same ones, so the
 * first contact of 10,000 accounts takes seconds, not minutes, and nothing is rehashed: the warm
 * path is a cache hit whatever the parameters. The load comes from one address, so the per-address
 * failure limit is off and the hash queue holds every first contact. BENCH_SCALE_ACCOUNTS changes the million.
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { CHEAP_ARGON2, CHEAP_ARGON2_ENV, basicAuthorization, benchPassword } from './lib/accounts.mjs'
import { startBizauth, withCpuOf } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'
import { BIZAUTH_BIN, serverModule } from './lib/paths.mjs'
import { POSTGRES_SKIPPED, benchPostgresUrl, withScratchDatabase } from './lib/services.mjs'

const ACCOUNTS = Number(process.env.BENCH_SCALE_ACCOUNTS ?? 1_000_000)
const SMALL_STORE = 1000
const WARM_ACCOUNTS = Math.min(10_000, ACCOUNTS)
const CONNECTIONS = 50
const RSS_GOAL_MB = 200

const accountId = (i) => `scale-${String(i).padStart(7, '0')}`

export async function runScaleBench({ seconds, log = console.log }) {
  const dir = await mkdtemp(join(tmpdir(), 'bizauth-scale-'))
  const password = benchPassword()
  const result = { accounts: ACCOUNTS, rows: [], goals: [] }
  try {
    const { PasswordHasher } = await import(serverModule('accounts/passwords.js'))
    const passwordHash = await new PasswordHasher(CHEAP_ARGON2).hash(password)
    const bigFile = join(dir, 'accounts.jsonl')
    await writeLines(bigFile, ACCOUNTS, passwordHash)
    const smallFile = join(dir, 'small.jsonl')
    await writeLines(smallFile, SMALL_STORE, passwordHash)

    const sqlite = await timedImport(bigFile, ['--data-dir', join(dir, 'big')])
    result.importSqlite = sqlite
    log(`import: ${ACCOUNTS} accounts into SQLite in ${sqlite.seconds} s = ${sqlite.perSecond}/s`)
    result.goals.push({ goal: `import of ${ACCOUNTS.toLocaleString('en-US')} accounts on SQLite under 60 s`, figure: `${sqlite.seconds} s (${sqlite.perSecond.toLocaleString('en-US')}/s)`, met: sqlite.seconds < 60 })

    const postgresUrl = benchPostgresUrl()
    if (postgresUrl) {
      result.importPostgres = await withScratchDatabase(postgresUrl, (url) => timedImport(bigFile, ['--database-url', url]))
      log(`import: ${ACCOUNTS} accounts into PostgreSQL in ${result.importPostgres.seconds} s = ${result.importPostgres.perSecond}/s`)
      result.goals.push({ goal: `import of ${ACCOUNTS.toLocaleString('en-US')} accounts on PostgreSQL (no goal; the figure)`, figure: `${result.importPostgres.seconds} s (${result.importPostgres.perSecond.toLocaleString('en-US')}/s)`, met: null })
    } else {
      log(`import: ${POSTGRES_SKIPPED}`)
    }
    await timedImport(smallFile, ['--data-dir', join(dir, 'small')])

    const small = await warmRun({ dataDir: join(dir, 'small'), accounts: SMALL_STORE, password, seconds, log, label: `1k store, ${SMALL_STORE} accounts` })
    const big = await warmRun({ dataDir: join(dir, 'big'), accounts: WARM_ACCOUNTS, password, seconds, log, label: `1M store, ${WARM_ACCOUNTS} accounts` })
    result.warmSmall = small
    result.warmBig = big
    result.rows.push({ name: `warm, ${SMALL_STORE} store`, rps: small.run.okRps, p99: small.run.p99, rssMb: small.maxRssMb })
    result.rows.push({ name: `warm, ${ACCOUNTS} store`, rps: big.run.okRps, p99: big.run.p99, rssMb: big.maxRssMb })
    const ratio = big.run.okRps / small.run.okRps
    result.warmRatio = round(ratio, 3)
    result.goals.push({ goal: 'warm over 10,000 cached accounts of a 1M store within 10% of a 1k store', figure: `${big.run.okRps} / ${small.run.okRps} req/s = ${round(ratio * 100, 1)}%`, met: ratio >= 0.9 })
    result.goals.push({ goal: `RSS of bizauth serve on the 1M store ≤ ${RSS_GOAL_MB} MB`, figure: `${big.maxRssMb} MB at most`, met: big.maxRssMb <= RSS_GOAL_MB })
    return result
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function writeLines(file, count, passwordHash) {
  const out = createWriteStream(file)
  for (let i = 0; i < count; i++) {
    const line = `{"id":"${accountId(i)}","allowed_ips":["127.0.0.1"],"password_hash":"${passwordHash}"}\n`
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

async function timedImport(file, storeArgs) {
  const started = performance.now()
  const child = spawn(process.execPath, [BIZAUTH_BIN, 'account', 'import', file, ...storeArgs], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bizauth account import failed (${code}): ${output.slice(-500)}`)
  const elapsed = (performance.now() - started) / 1000
  const lines = Number(/imported (\d+) lines/.exec(output)?.[1] ?? 0)
  return { seconds: round(elapsed, 1), perSecond: Math.round(lines / elapsed), lines }
}

async function warmRun({ dataDir, accounts, password, seconds, log, label }) {
  const server = await startBizauth({ dataDir, flags: ['--rate-limit', '0', '--ip-failure-limit', '0', '--hash-queue', String(accounts), '--credential-cache-size', String(accounts * 2)], env: CHEAP_ARGON2_ENV })
  let maxRss = 0
  const sample = async () => {
    const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8').catch(() => '')
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
    maxRss = Math.max(maxRss, kb)
  }
  const sampler = setInterval(() => void sample(), 200)
  try {
    const headers = Array.from({ length: accounts }, (_, i) => basicAuthorization(accountId(i), password))
    let next = 0
    const rotate = (request) => {
      request.headers = { ...request.headers, authorization: headers[next++ % headers.length] }
      return request
    }
    // First contact: one argon2id check each, then every request is a cache hit.
    const codes = {}
    const first = await runLoad({ url: server.url, connections: CONNECTIONS, amount: accounts, setupRequest: rotate, onResponse: (status, body) => {
      if (status !== 200) codes[JSON.parse(body).code] = (codes[JSON.parse(body).code] ?? 0) + 1
    } })
    if (first.ok < accounts) log(`  first contact refused ${accounts - first.ok}: ${JSON.stringify(codes)}`)
    const run = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds, setupRequest: rotate }))
    await sample()
    const maxRssMb = round(maxRss / 1024, 1)
    log(`warm (${label}): first contact ${first.ok}/${accounts} ok; then ${run.okRps} req/s, p99 ${run.p99} ms; RSS at most ${maxRssMb} MB`)
    return { first: { ok: first.ok, rps: first.okRps }, run, maxRssMb }
  } finally {
    clearInterval(sampler)
    await server.stop()
  }
}
