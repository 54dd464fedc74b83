/**
 * Benchmarks of POST /v1/token (issue 2 §6, issue 3 "Benchmark"), all in one run so the
 * figures can be compared as ratios on a noisy shared machine:
 *
 *   raw     a bare node:http server answering a body of the same shape and size (the yardstick)
 *   warm    one account issuing again and again (credential cache hits), --rate-limit 0
 *   ratelimit  the same with the default per-account rate limit (1000 per 60 s window, contract.md
 *           §6): what one account really gets in a window, the rest answered 429/5002
 *   spread  requests spread over 1,000 accounts (default settings), after one first contact each
 *   cold    every request a new account, so every request pays one argon2id check; compared
 *           with the hash-bound limit (cores / time of one check) measured in the same run;
 *           --ip-failure-limit 0, because every check in flight holds a unit of its address's
 *           failure budget (30) until it succeeds, and the load generator is one address with
 *           50 connections that never wait out Retry-After
 *   flood   honest clients (one address, via --trust-proxy and X-Forwarded-For) alone, then
 *           again while a flood of wrong passwords and unknown accounts from random addresses runs
 *
 * Every server and the flood generator are child processes; autocannon for the measured
 * clients runs here. Every server is a fresh process, so no run inherits another's cache.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { basicAuthorization, benchPassword, seedAccounts } from './lib/accounts.mjs'
import { ask, forkWorker, startBizauth, stopChild, withCpuOf } from './lib/children.mjs'
import { round, runLoad } from './lib/load.mjs'

export const TOKEN_SCENARIOS = ['raw', 'warm', 'ratelimit', 'spread', 'cold', 'flood']

const CONNECTIONS = 50
const HONEST_CONNECTIONS = 10
const FLOOD_CONNECTIONS = 40
const SPREAD_ACCOUNTS = 1000
const HONEST_ADDRESS = '198.51.100.10'
/** The server's defaults for --rate-limit and --rate-limit-window. */
const DEFAULT_RATE_LIMIT = 1000
const DEFAULT_RATE_WINDOW_SECONDS = 60
const WARM_UP_SECONDS = 1

const workerPath = (name) => fileURLToPath(new URL(`./lib/${name}`, import.meta.url))

/**
 * @param {{ seconds: number, selected: (name: string) => boolean, log: (line: string) => void }} options
 * @returns {Promise<{ runs: object, hashBound?: object, notes: string[], failures: object[] }>}
 */
export async function runTokenBench({ seconds, selected, log }) {
  const wanted = TOKEN_SCENARIOS.filter(selected)
  const result = { runs: {}, notes: [], failures: [] }
  if (wanted.length === 0) return result

  const dataDir = await mkdtemp(join(tmpdir(), 'bizauth-bench-'))
  const password = benchPassword()
  const auth = (account) => basicAuthorization(account, password)
  try {
    // --- accounts --------------------------------------------------------------------------------
    // Enough cold accounts that none repeats within the run even at twice the rate expected on
    // two cores (~200/s); a repeat would be a cache hit, so repeats are counted and reported.
    const coldCount = selected('cold') ? Math.max(4000, 400 * seconds + CONNECTIONS) : 0
    const accounts = [
      { id: 'bench-warm', allowedIps: ['127.0.0.1/32'] },
      ...(selected('spread') ? range(SPREAD_ACCOUNTS).map((i) => ({ id: spreadId(i), allowedIps: ['127.0.0.1/32'] })) : []),
      ...range(coldCount).map((i) => ({ id: coldId(i), allowedIps: ['127.0.0.1/32'] })),
      { id: 'bench-honest', allowedIps: [`${HONEST_ADDRESS}/32`] },
      // The flood's real account accepts any address, so wrong passwords reach the password check.
      { id: 'bench-victim', allowedIps: ['0.0.0.0/0'] },
    ]
    log(`accounts: creating ${accounts.length} through the store (one shared argon2id hash)…`)
    const seeded = await seedAccounts(dataDir, password, accounts)
    log(`  done in ${round(seeded.seconds, 1)} s`)

    const scenario = async (name, body) => {
      log(`\n[${name}] load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`)
      try {
        await body()
      } catch (error) {
        result.failures.push({ scenario: name, message: error.message })
        log(`!! ${name} crashed: ${error.stack ?? error.message}`)
      }
    }

    // --- raw and warm ----------------------------------------------------------------------------
    if (selected('raw') || selected('warm')) {
      await scenario('raw+warm', async () => {
        const server = await startBizauth({ dataDir, flags: ['--rate-limit', '0'] })
        try {
          const probe = await probeToken(server.url, auth('bench-warm'))
          if (selected('raw')) {
            const { child, ready } = await forkWorker(workerPath('raw-server-worker.mjs'), { body: fakeTokenBody(probe.body), headers: probe.headers })
            try {
              log(`raw: node:http answering a ${probe.body.length}-byte body, ${CONNECTIONS} connections, ${seconds} s`)
              await runLoad({ url: ready.url, connections: CONNECTIONS, seconds: WARM_UP_SECONDS })
              result.runs.raw = await withCpuOf(child, () => runLoad({ url: ready.url, connections: CONNECTIONS, seconds }))
            } finally {
              await stopChild(child)
            }
            log(`  ${line(result.runs.raw)}`)
          }
          if (selected('warm')) {
            log(`warm: one account, the right password again and again (--rate-limit 0), ${CONNECTIONS} connections, ${seconds} s`)
            const headers = { authorization: auth('bench-warm') }
            await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers })
            result.runs.warm = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds, headers }))
            log(`  ${line(result.runs.warm)}`)
          }
        } finally {
          await server.stop()
        }
      })
    }

    // --- the default rate limit on one account ---------------------------------------------------
    if (selected('ratelimit')) {
      await scenario('ratelimit', async () => {
        // Shorter than one window, so the run sees exactly one window's worth of successes.
        const limitSeconds = Math.min(seconds, 5)
        const server = await startBizauth({ dataDir })
        try {
          log(`ratelimit: one account with the DEFAULT rate limit (${DEFAULT_RATE_LIMIT} per ${DEFAULT_RATE_WINDOW_SECONDS} s), ${CONNECTIONS} connections, ${limitSeconds} s`)
          const run = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds: limitSeconds, headers: { authorization: auth('bench-warm') } }))
          run.codes = await sampleCodes(server.url, auth('bench-warm'), run)
          run.limit = DEFAULT_RATE_LIMIT
          result.runs.ratelimit = run
          log(`  ${line(run)}; 200s: ${run.ok} of ${DEFAULT_RATE_LIMIT} allowed per ${DEFAULT_RATE_WINDOW_SECONDS} s window`)
        } finally {
          await server.stop()
        }
      })
    }

    // --- spread over 1,000 accounts --------------------------------------------------------------
    if (selected('spread')) {
      await scenario('spread', async () => {
        const server = await startBizauth({ dataDir })
        try {
          const headers = range(SPREAD_ACCOUNTS).map((i) => auth(spreadId(i)))
          log(`spread: first contact, one request for each of ${SPREAD_ACCOUNTS} accounts (each costs one argon2id check), ${CONNECTIONS} connections`)
          let next = 0
          const rotate = (request) => {
            request.headers = { ...request.headers, authorization: headers[next++ % headers.length] }
            return request
          }
          const first = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, amount: SPREAD_ACCOUNTS, setupRequest: rotate }))
          result.runs.spreadFirstContact = first
          log(`  ${line(first)}; ${SPREAD_ACCOUNTS} accounts in ${first.seconds} s`)
          log(`spread: steady state, requests rotating over the ${SPREAD_ACCOUNTS} accounts, ${CONNECTIONS} connections, ${seconds} s`)
          result.runs.spread = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: CONNECTIONS, seconds, setupRequest: rotate }))
          log(`  ${line(result.runs.spread)}`)
        } finally {
          await server.stop()
        }
      })
    }

    // --- cold: every request a new account -------------------------------------------------------
    if (selected('cold')) {
      await scenario('cold', async () => {
        const server = await startBizauth({ dataDir, flags: ['--ip-failure-limit', '0'] })
        try {
          // Warm the server's code paths (not its cache: a different account) before measuring.
          await runLoad({ url: server.url, connections: CONNECTIONS, seconds: WARM_UP_SECONDS, headers: { authorization: auth('bench-warm') } })
          // The hash-bound limit, timed right before and right after the run while this server is
          // idle: the machine is shared, so a figure taken minutes apart would compare different machines.
          const before = await timeArgon2(log, 'before')
          log(`cold: every request a new account (${coldCount} accounts ready), ${CONNECTIONS} connections, ${seconds} s`)
          let next = 0
          let repeats = 0
          const run = await withCpuOf(server.child, () =>
            runLoad({
              url: server.url,
              connections: CONNECTIONS,
              seconds,
              setupRequest(request) {
                if (next >= coldCount) repeats++
                request.headers = { ...request.headers, authorization: auth(coldId(next++ % coldCount)) }
                return request
              },
            }),
          )
          const after = await timeArgon2(log, 'after')
          result.hashBound = combineArgon2Timings(before, after)
          run.accountsUsed = Math.min(next, coldCount)
          run.repeatedAccounts = repeats
          if (repeats > 0) result.notes.push(`cold: ${repeats} requests reused an account (pool of ${coldCount} too small): the cold figure is too high`)
          if (result.hashBound) {
            run.ofHashBound = round(run.okRps / result.hashBound.limitPerSecond, 3)
            run.ofMeasuredParallel = round(run.okRps / result.hashBound.measuredParallelPerSecond, 3)
            // Robust to a shared machine: of the server's CPU per cold request, how much is the
            // argon2id check itself. On dedicated cores the cold path reaches this share of the limit.
            if (run.serverCpuUsPerRequest) run.hashShareOfCpu = round((result.hashBound.cpuMsPerCheck * 1000) / run.serverCpuUsPerRequest, 3)
          }
          result.runs.cold = run
          log(`  ${line(run)}; ${run.accountsUsed} accounts used, ${repeats} repeats`)
          log(`  hash-bound limit ${result.hashBound.cores} / ${result.hashBound.checkMs} ms = ${result.hashBound.limitPerSecond}/s -> cold is ${pct(run.ofHashBound)} of it`)
          if (run.hashShareOfCpu !== undefined) log(`  server CPU per cold request ${run.serverCpuUsPerRequest} µs, of which one argon2id check ${round(result.hashBound.cpuMsPerCheck * 1000, 0)} µs = ${pct(run.hashShareOfCpu)} (the share of the limit reachable on dedicated cores)`)
        } finally {
          await server.stop()
        }
      })
    }

    // --- flood -----------------------------------------------------------------------------------
    if (selected('flood')) {
      await scenario('flood', async () => {
        const server = await startBizauth({ dataDir, flags: ['--trust-proxy', '127.0.0.1', '--rate-limit', '0'] })
        let flood
        try {
          const headers = { authorization: auth('bench-honest'), 'x-forwarded-for': HONEST_ADDRESS }
          await runLoad({ url: server.url, connections: HONEST_CONNECTIONS, seconds: WARM_UP_SECONDS, headers })
          log(`flood: honest clients alone, ${HONEST_CONNECTIONS} connections from ${HONEST_ADDRESS} (X-Forwarded-For via --trust-proxy), ${seconds} s`)
          result.runs.floodBaseline = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: HONEST_CONNECTIONS, seconds, headers }))
          log(`  ${line(result.runs.floodBaseline)}`)

          log(`flood: the same honest clients while ${FLOOD_CONNECTIONS} connections (a second autocannon, in a child process) send wrong passwords for a real account and unknown accounts, each request from a random address`)
          flood = (await forkWorker(workerPath('flood-worker.mjs'), { url: server.url, connections: FLOOD_CONNECTIONS, victim: 'bench-victim' })).child
          const floodResult = new Promise((resolve, reject) => {
            flood.on('message', (message) => {
              if (message.type === 'result') resolve(message)
              else if (message.type === 'error') reject(new Error(message.message))
            })
            flood.once('exit', () => reject(new Error('the flood generator exited without a result')))
          })
          floodResult.catch(() => {})
          // The flood runs until stopped; the honest run starts once it is answering.
          await ask(flood, { type: 'start', seconds: seconds * 3 + 30 }, 'flowing', { deadlineMs: 60_000 })
          const honest = await withCpuOf(server.child, () => runLoad({ url: server.url, connections: HONEST_CONNECTIONS, seconds, headers }))
          flood.send({ type: 'stop' })
          const { summary, codes } = await floodResult
          result.runs.floodHonest = honest
          result.runs.floodAttack = { ...summary, codes }
          const baseline = result.runs.floodBaseline
          honest.p99Ratio = baseline.p99 ? round(honest.p99 / baseline.p99, 2) : null
          log(`  honest: ${line(honest)}; p99 ${honest.p99Ratio}× the baseline`)
          log(`  flood:  ${summary.rps} req/s, answers by code ${JSON.stringify(codes)}`)
        } finally {
          if (flood) await stopChild(flood)
          await server.stop()
        }
      })
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
  return result
}

/** Times argon2id checks with the default parameters in a child process (see lib/argon2-worker.mjs). */
async function timeArgon2(log, label) {
  const { ready } = await forkWorker(workerPath('argon2-worker.mjs'), { checks: 40 }, { deadlineMs: 120_000 })
  log(`  argon2id ${label}: one check ${round(ready.meanMs, 2)} ms (median ${round(ready.medianMs, 2)}, CPU ${round(ready.cpuMsPerCheck, 2)} ms); every core hashing: ${round(ready.parallelPerSecond, 1)}/s`)
  return ready
}

/**
 * The hash-bound limit: cores / the time of one check. The time of one check is the median of
 * the timings before and after the run: on a shared machine the mean is pulled up by moments
 * when another process had the core, which would lower the limit and flatter the cold figure.
 */
function combineArgon2Timings(before, after) {
  const checkMs = (before.medianMs + after.medianMs) / 2
  return {
    parameters: before.parameters,
    cores: before.cores,
    checkMs: round(checkMs, 2),
    checkMsBefore: round(before.medianMs, 2),
    checkMsAfter: round(after.medianMs, 2),
    meanCheckMs: round((before.meanMs + after.meanMs) / 2, 2),
    cpuMsPerCheck: round((before.cpuMsPerCheck + after.cpuMsPerCheck) / 2, 2),
    limitPerSecond: round((before.cores * 1000) / checkMs, 1),
    measuredParallelPerSecond: round((before.parallelPerSecond + after.parallelPerSecond) / 2, 1),
  }
}

/** One real token answer, to check the server works and to give the raw server its shape. */
async function probeToken(url, authorization) {
  const response = await fetch(`${url}/v1/token`, { method: 'POST', headers: { authorization } })
  const body = await response.text()
  if (response.status !== 200) throw new Error(`probe: POST /v1/token answered ${response.status} ${body}`)
  const parsed = JSON.parse(body)
  if (typeof parsed.accesstoken !== 'string' || parsed.type !== 'Bearer' || !/^\d{14}$/.test(parsed.expired)) {
    throw new Error('probe: the token answer does not have the contract shape')
  }
  const headers = {}
  for (const name of ['content-type', 'cache-control', 'pragma']) {
    const value = response.headers.get(name)
    if (value) headers[name] = value
  }
  return { body, headers }
}

/** The same JSON with the token's characters replaced: same shape, same size, no real token. */
function fakeTokenBody(realBody) {
  const parsed = JSON.parse(realBody)
  parsed.accesstoken = parsed.accesstoken.replace(/[^.]/g, 'x')
  return JSON.stringify(parsed)
}

/** The contract code behind a run's non-200 answers (one extra request; the run is over by then). */
async function sampleCodes(url, authorization, run) {
  if (run.non200 === 0) return {}
  const response = await fetch(`${url}/v1/token`, { method: 'POST', headers: { authorization } })
  const body = await response.text()
  const header = (name) => response.headers.get(name)
  return { sample: { status: response.status, body, retryAfter: header('retry-after'), rateLimitRemaining: header('ratelimit-remaining'), rateLimitReset: header('ratelimit-reset') } }
}

function range(count) {
  return Array.from({ length: count }, (_, i) => i)
}
const spreadId = (i) => `bench-spread-${String(i).padStart(4, '0')}`
const coldId = (i) => `bench-cold-${String(i).padStart(5, '0')}`
const pct = (ratio) => (ratio === undefined || ratio === null ? 'n/a' : `${round(ratio * 100, 1)}%`)

function line(run) {
  const bad = run.non200 > 0 || run.errors > 0 || run.timeouts > 0 ? ` !! non-200: ${run.non200} ${JSON.stringify(run.statuses)}, errors ${run.errors}, timeouts ${run.timeouts}` : ''
  const cpu = run.serverCpuUsPerRequest ? `; server ${run.serverCores} cores busy, ${run.serverCpuUsPerRequest} µs CPU/request` : ''
  return `${run.rps} req/s (200s: ${run.okRps}/s), p50 ${run.p50} ms, p99 ${run.p99} ms${cpu}${bad}`
}
