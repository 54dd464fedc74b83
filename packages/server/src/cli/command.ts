/**
 * A small command model in the shape of unjs/citty: each command is a plain object made with
 * `defineCommand`; a command either runs or routes to lazily imported sub-commands. Flags are
 * parsed with node:util `parseArgs` (strict), so an unknown flag is a usage error, never ignored.
 *
 * A new command plugs in by adding one entry to a `subCommands` map (see commands/index.ts).
 */
import { parseArgs } from 'node:util'
import { UsageError, printable } from './errors.js'
import { renderHelp } from './help.js'
import { writeLine, type CliIo } from './io.js'

export interface OptionSpec {
  type: 'string' | 'boolean'
  /** May be given several times; the value is then a list. */
  multiple?: boolean
  short?: string
  /** Placeholder shown in help after the flag, e.g. `CIDR` in `--allow-ip CIDR`. */
  valueName?: string
  description: string
  /** The environment variable that supplies the value when the flag is absent (help only). */
  env?: string
  /** The default as help prints it (help only; the command applies defaults itself). */
  defaultText?: string
}

export interface PositionalSpec {
  name: string
  description: string
}

export type OptionValues = Record<string, string | boolean | Array<string | boolean> | undefined>

export interface CommandContext {
  io: CliIo
  /** Parsed flags, keyed by flag name without dashes. */
  values: OptionValues
  /** Positional arguments, keyed by PositionalSpec.name. */
  args: Record<string, string>
  /** `bizauth account create`, for messages. */
  commandPath: string
}

export interface Command {
  name: string
  /** One line for command lists. */
  summary: string
  /** More text for `--help`, printed under the usage line. */
  description?: string
  positionals?: readonly PositionalSpec[]
  options?: Readonly<Record<string, OptionSpec>>
  /** Lazily imported sub-commands; a command has these or `run`, not both. */
  subCommands?: Readonly<Record<string, () => Promise<Command>>>
  examples?: readonly string[]
  /** Extra help paragraphs, printed after the options (e.g. environment-only settings). */
  notes?: readonly string[]
  /** Resolves to the exit code (default 0). Throws UsageError/CliError for expected failures. */
  run?: (context: CommandContext) => Promise<number | void>
}

export function defineCommand(command: Command): Command {
  return command
}

const HELP_FLAGS = new Set(['--help', '-h'])

/** Routes `argv` through sub-commands to a leaf, parses its flags and runs it. */
export async function runCommand(command: Command, argv: readonly string[], io: CliIo, commandPath: string): Promise<number> {
  if (command.subCommands) return routeToSubCommand(command, command.subCommands, argv, io, commandPath)
  const beforeDoubleDash = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv
  if (beforeDoubleDash.some((arg) => HELP_FLAGS.has(arg))) {
    io.stdout.write(await renderHelp(command, commandPath))
    return 0
  }
  const context = parseCommandLine(command, argv, io, commandPath)
  if (!command.run) throw new Error(`command "${commandPath}" has neither run nor subCommands`)
  return (await command.run(context)) ?? 0
}

async function routeToSubCommand(
  command: Command,
  subCommands: Readonly<Record<string, () => Promise<Command>>>,
  argv: readonly string[],
  io: CliIo,
  commandPath: string,
): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) throw new UsageError(commandPath, `missing command (one of: ${Object.keys(subCommands).join(', ')})`)
  if (HELP_FLAGS.has(first) || first === 'help') {
    io.stdout.write(await renderHelp(command, commandPath))
    return 0
  }
  if (first.startsWith('-')) {
    throw new UsageError(commandPath, `unexpected option "${printable(optionName(first))}" before the command; options go after it`)
  }
  const load = Object.hasOwn(subCommands, first) ? subCommands[first] : undefined
  if (!load) throw new UsageError(commandPath, `unknown command "${printable(first)}" (one of: ${Object.keys(subCommands).join(', ')})`)
  return runCommand(await load(), rest, io, `${commandPath} ${first}`)
}

function parseCommandLine(command: Command, argv: readonly string[], io: CliIo, commandPath: string): CommandContext {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {}
  for (const [name, spec] of Object.entries(command.options ?? {})) {
    options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) }
  }
  let parsed: { values: OptionValues; positionals: string[] }
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true }) as typeof parsed
  } catch (error) {
    throw new UsageError(commandPath, describeParseError(error))
  }
  const specs = command.positionals ?? []
  const args: Record<string, string> = {}
  specs.forEach((spec, index) => {
    const value = parsed.positionals[index]
    if (value === undefined) throw new UsageError(commandPath, `missing ${spec.name}`)
    args[spec.name] = value
  })
  if (parsed.positionals.length > specs.length) {
    // The extra argument is not echoed: it may be a password typed where it does not belong.
    const expected = specs.length === 0 ? 'no arguments' : specs.map((spec) => spec.name).join(' ')
    throw new UsageError(commandPath, `too many arguments (expected ${expected}; passwords are never taken from arguments)`)
  }
  return { io, values: parsed.values, args, commandPath }
}

/**
 * parseArgs messages are long and may quote a value; this keeps only the option's name.
 * `--password=hunter2` must not come back in the message.
 */
function describeParseError(error: unknown): string {
  const code = (error as { code?: string }).code
  const message = error instanceof Error ? error.message : String(error)
  const quoted = /'(-[^' ]*)/.exec(message)?.[1]
  const name = quoted ? printable(optionName(quoted)) : 'an option'
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option "${name}"`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(message) ? `option "${name}" needs a value` : `option "${name}" takes no value`
    default:
      return 'could not read the command line'
  }
}

function optionName(arg: string): string {
  const equals = arg.indexOf('=')
  return equals < 0 ? arg : arg.slice(0, equals)
}

// --- typed access to parsed values -----------------------------------------------------------

export function stringOption(context: CommandContext, name: string): string | undefined {
  const value = context.values[name]
  return typeof value === 'string' ? value : undefined
}

export function stringListOption(context: CommandContext, name: string): string[] {
  const value = context.values[name]
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string')
  return typeof value === 'string' ? [value] : []
}

export function booleanOption(context: CommandContext, name: string): boolean {
  return context.values[name] === true
}

export function printLine(context: CommandContext, line = ''): void {
  writeLine(context.io.stdout, line)
}

/**
 * Rows under a header, each column as wide as its widest cell (header included), two spaces
 * apart. `withHeader: false` prints the rows only, at the same widths (a later page of a list).
 */
export function printTable(context: CommandContext, header: readonly string[], rows: readonly (readonly string[])[], withHeader = true): void {
  const table = [header, ...rows]
  const widths = header.map((_, column) => Math.max(...table.map((row) => row[column]!.length)))
  for (const row of withHeader ? table : rows) printLine(context, row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd())
}
