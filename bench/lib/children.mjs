/**
 * Child processes of the bench: `bizauth serve`, the raw node:http server and the flood
 * generator. Each runs in its own process so that the load generator (autocannon, in the
 * bench process) and the server under test never share an event loop.
 *
 * Every child started here is remembered and killed if the bench exits early, so a crashed
 * bench leaves no server behind.
 */
import { fork, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { BIZAUTH_BIN } from './paths.mjs'

const running = new Set()

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const child of running) child.kill('SIGKILL')
    process.exit(130)
  })
}

function track(child) {
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/** Waits for `predicate(line)` on the child's stdout; rejects if the child exits or the deadline passes. */
function waitForLine(child, predicate, { deadlineMs, describe }) {
  return new Promise((resolve, reject) => {
    const stderr = []
    child.stderr?.on('data', (chunk) => {
      stderr.push(chunk)
      if (stderr.length > 50) stderr.shift()
    })
    const lines = createInterface({ input: child.stdout })
    const timer = setTimeout(() => finish(new Error(`${describe} did not start within ${deadlineMs} ms`)), deadlineMs)
    const onExit = (code, signal) =>
      finish(new Error(`${describe} exited (${signal ?? code}) before it was ready: ${Buffer.concat(stderr).toString().slice(-2000)}`))
    child.once('exit', onExit)
    lines.on('line', (line) => {
      const value = predicate(line)
      if (value !== undefined) finish(undefined, value)
    })
    let done = false
    function finish(error, value) {
      if (done) return
      done = true
      clearTimeout(timer)
      child.off('exit', onExit)
      // Keep draining stdout/stderr so a chatty child never blocks on a full pipe.
      lines.removeAllListeners('line')
      lines.on('line', () => {})
      if (error) {
        child.kill('SIGKILL')
        reject(error)
      } else resolve(value)
    }
  })
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. Resolves when it has exited. */
export function stopChild(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

/**
 * Starts `bizauth serve` on 127.0.0.1 and a free port (its admin listener on another) with the given data directory and extra flags.
 * Resolves to { url, child, stop } once the server has logged its "listening" line.
 * With BENCH_CPU_PROF=<dir> every server writes a V8 CPU profile there when it stops
 * (summarise it with lib/cpu-profile-summary.mjs); BENCH_SERVER_FLAGS (space-separated) adds
 * flags to every server, to try a setting (e.g. "--hash-concurrency 1" or "--signing-alg HS256").
 */
export async function startBizauth({ dataDir, flags = [], env = {} }) {
  const profileDir = process.env.BENCH_CPU_PROF
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []
  const extraFlags = (process.env.BENCH_SERVER_FLAGS ?? '').split(/\s+/).filter(Boolean)
  const args = [...nodeArgs, BIZAUTH_BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, ...flags, ...extraFlags]
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }))
  const url = await waitForLine(
    child,
    (line) => {
      try {
        const entry = JSON.parse(line)
        return entry.msg === 'listening' && typeof entry.url === 'string' ? entry.url : undefined
      } catch {
        return undefined
      }
    },
    { deadlineMs: 30_000, describe: `bizauth serve ${flags.join(' ')}` },
  )
  return { url, child, stop: () => stopChild(child) }
}

/**
 * Forks an ESM module with an IPC channel; sends it `init` and resolves with the child's first
 * message of type `ready`. The module answers `{ type: 'ready', ... }` or `{ type: 'error', message }`.
 */
export async function forkWorker(modulePath, init, { deadlineMs = 30_000 } = {}) {
  const child = track(fork(modulePath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  try {
    const ready = await ask(child, { type: 'init', ...init }, 'ready', { deadlineMs })
    return { child, ready }
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  }
}

/** Sends `message` to a forked worker and resolves with its next message of type `replyType`. */
export function ask(child, message, replyType, { deadlineMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no ${replyType} from worker within ${deadlineMs} ms`)), deadlineMs)
    const onExit = (code, signal) => fail(new Error(`worker exited (${signal ?? code}) before answering ${replyType}`))
    const onMessage = (reply) => {
      if (reply?.type === replyType) {
        cleanup()
        resolve(reply)
      } else if (reply?.type === 'error') fail(new Error(reply.message))
    }
    function cleanup() {
      clearTimeout(timer)
      child.off('exit', onExit)
      child.off('message', onMessage)
    }
    function fail(error) {
      cleanup()
      reject(error)
    }
    child.once('exit', onExit)
    child.on('message', onMessage)
    child.send(message)
  })
}

/**
 * CPU seconds (user + system, every thread) a child has used so far, from /proc; undefined
 * where /proc is not available. CPU per request does not depend on how much of the shared
 * machine the child got, so it complements req/s on a noisy host.
 */
export function cpuSecondsOf(child) {
  try {
    const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of proc(5) (utime, stime), in clock ticks; Linux reports them at 100 Hz.
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

/** Runs `measure()` (an autocannon run) and adds the child's CPU use during it to the summary. */
export async function withCpuOf(child, measure) {
  const before = cpuSecondsOf(child)
  const run = await measure()
  const after = cpuSecondsOf(child)
  if (before !== undefined && after !== undefined && run.requests > 0) {
    run.serverCpuSeconds = Math.round((after - before) * 100) / 100
    run.serverCores = Math.round(((after - before) / run.seconds) * 100) / 100
    run.serverCpuUsPerRequest = Math.round(((after - before) * 1e6) / run.requests)
  }
  return run
}
