/**
 * Where a new password comes from. Never argv (it leaks into `ps` and shell history, issue 2 §4):
 *
 * 1. `--password-stdin`: the first line of stdin (a trailing \r\n or \n is stripped).
 * 2. Otherwise, on a TTY: a prompt without echo, asked twice.
 * 3. Otherwise the caller decides (`create` generates one, `set-password` refuses).
 */
import { CliError } from './errors.js'
import type { CliIo } from './io.js'

/** Far beyond any real password; stops a mistaken `< bigfile` from being hashed. */
const MAX_PASSWORD_LENGTH = 1024

export type PasswordSource = 'stdin' | 'prompt' | 'none'

export function passwordSource(io: CliIo, passwordStdin: boolean): PasswordSource {
  if (passwordStdin) return 'stdin'
  return io.stdin.isTTY && typeof io.stdin.setRawMode === 'function' ? 'prompt' : 'none'
}

export async function readPasswordFromStdin(io: CliIo): Promise<string> {
  const line = await readFirstLine(io.stdin)
  return checkPassword(line ?? '', 'the first line of stdin')
}

/** Prompts twice without echo; the two entries must match. */
export async function promptNewPassword(io: CliIo): Promise<string> {
  const first = checkPassword(await promptHidden(io, 'New password: '), 'the password')
  const second = await promptHidden(io, 'Repeat the password: ')
  if (first !== second) throw new CliError('the two passwords differ; nothing changed, run the command again')
  return first
}

function checkPassword(password: string, where: string): string {
  if (password === '') throw new CliError(`${where} is empty; give a non-empty password (nothing changed)`)
  if (password.length > MAX_PASSWORD_LENGTH) throw new CliError(`${where} is longer than ${MAX_PASSWORD_LENGTH} characters (nothing changed)`)
  return password
}

async function readFirstLine(stream: CliIo['stdin']): Promise<string | undefined> {
  stream.setEncoding('utf8')
  let text = ''
  for await (const chunk of stream) {
    text += chunk as string
    const newline = text.indexOf('\n')
    if (newline >= 0) return stripCarriageReturn(text.slice(0, newline))
    if (text.length > MAX_PASSWORD_LENGTH + 2) return text
  }
  return text === '' ? undefined : stripCarriageReturn(text)
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line
}

/** Reads one line from a TTY in raw mode, echoing nothing. Ctrl-C cancels, Ctrl-D ends the line. */
function promptHidden(io: CliIo, prompt: string): Promise<string> {
  const stdin = io.stdin
  // Echo goes off before the prompt appears, so nothing typed after it is ever echoed.
  stdin.setRawMode?.(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  io.stderr.write(prompt)
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (): void => {
      stdin.off('data', onData)
      stdin.setRawMode?.(false)
      stdin.pause()
      io.stderr.write('\n')
    }
    const onData = (chunk: string): void => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n' || character === '\u0004') {
          finish()
          resolve(value)
          return
        }
        if (character === '\u0003') {
          finish()
          reject(new CliError('cancelled; nothing changed', 130))
          return
        }
        if (character === '\u007f' || character === '\b') value = Array.from(value).slice(0, -1).join('')
        else if (character >= ' ') value += character
      }
    }
    stdin.on('data', onData)
  })
}
