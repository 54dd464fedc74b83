/**
 * The real `bizauth` command as child processes, for the tests of issue 3 that need another
 * process: the CLI changing accounts under a running server, and `bizauth serve` killed with
 * SIGKILL mid-load. Children get the test's environment minus every BIZAUTH_* variable, plus
 * small argon2id parameters so account commands stay quick.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** packages/server/bin/bizauth.js, from packages/server/dist/test/helpers/. */
export const BIZAUTH = fileURLToPath(new URL('../../../bin/bizauth.js', import.meta.url))

/** The CLI reads argon2id parameters from the environment; these match FAST_ARGON2. */
export const FAST_ARGON2_ENV = { BIZAUTH_ARGON2_MEMORY: '1024', BIZAUTH_ARGON2_TIME: '1', BIZAUTH_ARGON2_PARALLELISM: '1' }

/** Suites run side by side: a server's admin listener is off unless the test asks for one (`--admin-port 0`). */
const NO_ADMIN_LISTENER_ENV = { BIZAUTH_ADMIN_PORT: 'off' }

export function bizauthEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('BIZAUTH_')) env[name] = value
  return { ...env, ...FAST_ARGON2_ENV, ...NO_ADMIN_LISTENER_ENV, ...extra }
}

export interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `bizauth ARGS` to completion; `input` goes to stdin (passwords never go in argv). */
export function bizauth(args: readonly string[], options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [BIZAUTH, ...args], { env: bizauthEnv(options.env), stdio: 'pipe' })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.on('error', () => undefined)
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Like `bizauth` but fails loudly when the command does not exit 0. */
export async function bizauthOk(args: readonly string[], options: { input?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const run = await bizauth(args, options)
  if (run.code !== 0) throw new Error(`bizauth ${args.join(' ')} exited ${run.code ?? run.signal}: ${run.stderr}`)
  return run
}

export interface ServeChild {
  readonly child: ChildProcessWithoutNullStreams
  readonly url: string
  /** The admin listener's URL, once it logged `"msg":"admin listening"` (with --admin-port). */
  adminUrl(): string | undefined
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  output(): string
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `bizauth serve ARGS` and resolves with its URL once it logged `"msg":"listening"`. */
export function serve(args: readonly string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, [BIZAUTH, 'serve', ...args], { env: bizauthEnv(options.env), stdio: 'pipe' })
  child.stdin.end()
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`bizauth serve did not listen in time:\n${output}`))
    }, options.timeoutMs ?? 20_000)
    const onData = (chunk: string): void => {
      output += chunk
      const url = listeningUrl(output)
      if (url === undefined) return
      clearTimeout(timer)
      resolve({
        child,
        url,
        adminUrl: () => listeningUrl(output, 'admin listening'),
        exited,
        output: () => output,
        kill(signal = 'SIGKILL') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      })
    }
    child.stdout.setEncoding('utf8').on('data', onData)
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`bizauth serve exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
}

function listeningUrl(output: string, message = 'listening'): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.startsWith('{') || !line.includes(`"${message}"`)) continue
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown }
      if (entry.msg === message && typeof entry.url === 'string') return entry.url
    } catch {
      // a partial line; the rest is on its way
    }
  }
  return undefined
}
