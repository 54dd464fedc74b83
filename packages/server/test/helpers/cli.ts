/**
 * Runs the real `bizauth` command (bin/bizauth.js) as a child process, the way an operator does.
 *
 * The child gets the test's environment minus every BIZAUTH_* variable (so a developer's own
 * settings cannot leak in), plus what the test passes. stdin is a pipe, never a TTY: it carries
 * `input` when given, and is closed at once otherwise.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** packages/server/bin/bizauth.js, from packages/server/dist/test/helpers/cli.js. */
export const BIZAUTH_BIN = fileURLToPath(new URL('../../../bin/bizauth.js', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  /** Written to stdin, which is then closed. */
  input?: string
  /** Kills the child after this long (a hung CLI fails the test instead of hanging it). */
  timeoutMs?: number
}

export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('BIZAUTH_')) env[name] = value
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return env
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [BIZAUTH_BIN, ...args], { env: childEnv(options.env), stdio: 'pipe' })
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.on('error', () => undefined) // the CLI may exit before reading its input
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** `bizauth serve` running as a child process. */
export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams
  /** The URL from the `"msg":"listening"` log line. */
  readonly url: string
  stdout(): string
  stderr(): string
  /** Resolves when stderr matches, or rejects after the deadline with what stderr held. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves when the process has exited, without signalling it. */
  exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends `signal` (unless it already exited) and resolves to the exit code. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Starts `bizauth serve ARGS` and resolves once it logged that it listens. Rejects (and kills
 * the child) if it exits first or does not listen within the deadline.
 */
export async function startServe(args: readonly string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<ServeProcess> {
  // Suites run side by side: no admin listener (default 127.0.0.1:8081) unless the test asks for one.
  const child = spawn(process.execPath, [BIZAUTH_BIN, 'serve', ...args], { env: childEnv({ BIZAUTH_ADMIN_PORT: 'off', ...options.env }), stdio: 'pipe' })
  child.stdin.end()
  let stdout = ''
  let stderr = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const changed = new EventTarget()
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk
    changed.dispatchEvent(new Event('data'))
  })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    changed.dispatchEvent(new Event('data'))
  })

  const waitFor = <T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = probe()
        if (found === undefined) return false
        cleanup()
        resolve(found)
        return true
      }
      const onChange = (): void => void check()
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${what}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        changed.removeEventListener('data', onChange)
      }
      changed.addEventListener('data', onChange)
      void exited.then(({ code }) => {
        if (check()) return
        cleanup()
        reject(new Error(`bizauth serve exited (code ${code}) while waiting for ${what}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`))
      })
      check()
    })

  const url = await waitFor(() => listeningUrl(stdout), options.timeoutMs ?? 20_000, 'the "listening" log line').catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })

  return {
    child,
    url,
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => exited,
    waitForStderr: (pattern, timeoutMs = 10_000) => waitFor(() => stderr.match(pattern) ?? undefined, timeoutMs, `stderr to match ${pattern}`),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
}

/** Finds `{"msg":"listening","url":...}` among the JSON log lines. */
function listeningUrl(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown }
      if (entry.msg === 'listening' && typeof entry.url === 'string') return entry.url
    } catch {
      // a partial line: the rest is still coming
    }
  }
  return undefined
}
