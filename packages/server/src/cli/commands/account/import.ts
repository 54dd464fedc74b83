import { createReadStream, statSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { ImportStoppedError, type ImportConflictMode, type ImportErrorMode, type ImportReport } from '../../../accounts/import.js'
import { SUPPORTED_HASH_FORMATS } from '../../../accounts/password-hashes.js'
import { booleanOption, defineCommand, printLine, stringOption, type CommandContext } from '../../command.js'
import { CliError, UsageError, printable } from '../../errors.js'
import { writeLine } from '../../io.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { withAdministration } from './shared.js'

const ERROR_MODES: readonly ImportErrorMode[] = ['stop', 'skip']
const CONFLICT_MODES: readonly ImportConflictMode[] = ['error', 'skip', 'update']
/** How often the progress line is redrawn at most. */
const PROGRESS_INTERVAL_MS = 250

export default defineCommand({
  name: 'import',
  summary: 'Import accounts from JSON lines, with the password hashes another system made.',
  description:
    'Import accounts from FILE (or - for stdin), one JSON object a line:\n' +
    '  {"id": "acme", "allowed_ips": ["203.0.113.7"], "roles": [], "status": "active", "password_hash": "$2y$10$…"}\n' +
    `The hash may be ${SUPPORTED_HASH_FORMATS}.\n` +
    'The first successful token request rehashes a password to argon2id. The whole import is one\n' +
    'transaction: nothing is half-imported. On SQLite it holds the write lock until it ends.',
  positionals: [{ name: 'FILE', description: 'The JSON-lines file, or - for stdin.' }],
  options: {
    'dry-run': { type: 'boolean', description: 'Check the whole file (conflicts included) and write nothing.' },
    'on-error': { type: 'string', valueName: ERROR_MODES.join('|'), defaultText: 'stop', description: 'stop: a bad line stops the import with nothing written; skip: it is reported and skipped.' },
    'on-conflict': { type: 'string', valueName: CONFLICT_MODES.join('|'), defaultText: 'error', description: 'An id that exists: an error (see --on-error), skipped, or updated (hash, IPs, roles, status).' },
    ...STORE_OPTIONS,
  },
  examples: ['bizauth account import accounts.jsonl --dry-run', 'bizauth account export --include-hashes --data-dir old | bizauth account import - --database-url-file url.txt'],
  async run(context) {
    const file = context.args.FILE!
    const onError = choice(context, 'on-error', ERROR_MODES, 'stop')
    const onConflict = choice(context, 'on-conflict', CONFLICT_MODES, 'error')
    const dryRun = booleanOption(context, 'dry-run')
    const input = openInput(context, file)
    const progress = new Progress(context, input.size, () => input.bytesRead())
    const startedAt = Date.now()
    let report: ImportReport
    try {
      report = await withAdministration(context, (administration) =>
        administration.importAccounts(lines(input.stream), {
          onError,
          onConflict,
          dryRun,
          onProblem: (problem) => writeLine(context.io.stderr, `line ${problem.line}: ${problem.message} (skipped)`),
          onProgress: (linesRead) => progress.update(linesRead),
        }),
      )
    } catch (error) {
      if (error instanceof ImportStoppedError) throw new CliError(`line ${error.problem.line}: ${error.problem.message}; nothing was imported (--on-error skip imports the other lines)`)
      throw error
    } finally {
      progress.end()
      input.stream.destroy()
    }
    printLine(context, summary(report, (Date.now() - startedAt) / 1000))
  },
})

function choice<T extends string>(context: CommandContext, option: string, choices: readonly T[], fallback: T): T {
  const text = stringOption(context, option)
  if (text === undefined) return fallback
  const found = choices.find((known) => known === text)
  if (!found) throw new UsageError(context.commandPath, `--${option} is one of ${choices.join(', ')}, got "${printable(text, 40)}"`)
  return found
}

interface Input {
  stream: Readable
  /** Bytes in the file, when known (not for stdin): the progress line's ETA. */
  size: number | undefined
  bytesRead(): number
}

function openInput(context: CommandContext, file: string): Input {
  if (file === '-') return { stream: context.io.stdin, size: undefined, bytesRead: () => 0 }
  let size: number
  try {
    size = statSync(file).size
  } catch (error) {
    const code = (error as { code?: unknown }).code
    throw new CliError(`cannot read ${printable(file, 200)}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)}`)
  }
  const stream = createReadStream(file)
  return { stream, size, bytesRead: () => stream.bytesRead }
}

/** Line by line, never the whole input in memory. */
async function* lines(stream: Readable): AsyncGenerator<string> {
  yield* createInterface({ input: stream, crlfDelay: Infinity })
}

function summary(report: ImportReport, seconds: number): string {
  const parts = [`${report.created} created`, `${report.updated} updated`, `${report.unchanged} left as they were`, `${report.skipped} lines skipped`]
  const rate = seconds > 0 ? Math.round(report.lines / seconds) : report.lines
  if (report.dryRun) return `dry run: ${report.lines} lines checked, would be ${parts.join(', ')}; nothing was written`
  return `imported ${report.lines} lines in ${seconds.toFixed(1)} s (${rate} lines/s): ${parts.join(', ')}`
}

/** Count, rate and ETA on stderr, redrawn in place, only when stderr is a terminal. */
class Progress {
  readonly #enabled: boolean
  readonly #startedAt = Date.now()
  #drawnAt = 0
  #drawn = false

  constructor(
    readonly context: CommandContext,
    readonly size: number | undefined,
    readonly bytesRead: () => number,
  ) {
    this.#enabled = (context.io.stderr as { isTTY?: boolean }).isTTY === true
  }

  update(linesRead: number): void {
    const now = Date.now()
    if (!this.#enabled || now - this.#drawnAt < PROGRESS_INTERVAL_MS) return
    this.#drawnAt = now
    const seconds = (now - this.#startedAt) / 1000
    const rate = seconds > 0 ? linesRead / seconds : 0
    const fraction = this.size ? this.bytesRead() / this.size : undefined
    const eta = fraction && fraction > 0 ? `, ETA ${Math.max(0, Math.round(seconds / fraction - seconds))} s` : ''
    this.context.io.stderr.write(`\r${linesRead} lines, ${Math.round(rate)}/s${eta}   `)
    this.#drawn = true
  }

  end(): void {
    if (this.#drawn) this.context.io.stderr.write('\n')
  }
}
