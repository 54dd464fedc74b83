/**
 * What a command may touch of the outside world. The entry point passes the real process;
 * everything else receives it, so nothing below reads `process.env` on its own and only the
 * entry point ends the process.
 */
import type { Readable, Writable } from 'node:stream'

export interface CliIo {
  stdout: Writable
  stderr: Writable
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown }
  env: Record<string, string | undefined>
  /** Ends the process at once (a second SIGTERM during a graceful stop). */
  exitNow(code: number): never
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    exitNow: (code) => process.exit(code),
  }
}

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`)
}
