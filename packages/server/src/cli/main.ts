/**
 * The `bizauth` command. `main(argv)` resolves to an exit code and never exits the process
 * itself: only bin/bizauth.js does that. Expected failures are one line on stderr
 * (2: bad usage, 1: a bad value or state); nothing here prints a stack for them.
 */
import { readFileSync } from 'node:fs'
import { SETTINGS } from '../config.js'
import { AccountExistsError, AccountMissingError } from '../store/store.js'
import { defineCommand, runCommand } from './command.js'
import { COMMANDS } from './commands/index.js'
import { CliError, EXIT_FAILURE, UsageError, printable } from './errors.js'
import { processIo, writeLine, type CliIo } from './io.js'

export const ROOT_COMMAND = defineCommand({
  name: 'bizauth',
  summary: 'bizauth: the token service of the Bizppurio Web API contract (POST /v1/token).',
  description:
    'bizauth: the token service of the Bizppurio Web API contract (POST /v1/token).\n' +
    `Every command takes --${SETTINGS.dataDir.flag} DIR (SQLite, default ${SETTINGS.dataDir.default}) or --${SETTINGS.databaseUrl.flag} postgres://...\n` +
    `(environment: ${SETTINGS.dataDir.env}, ${SETTINGS.databaseUrl.env}).`,
  subCommands: COMMANDS,
  examples: ['bizauth serve', 'bizauth account create demo --allow-ip 127.0.0.1', 'bizauth account --help'],
})

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v') {
    writeLine(io.stdout, packageVersion())
    return 0
  }
  try {
    return await runCommand(ROOT_COMMAND, argv, io, 'bizauth')
  } catch (error) {
    return reportFailure(error, io)
  }
}

function reportFailure(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    writeLine(io.stderr, `${error.commandPath}: ${error.message}. See "${error.commandPath} --help".`)
    return error.exitCode
  }
  if (error instanceof CliError) {
    writeLine(io.stderr, `bizauth: ${error.message}`)
    return error.exitCode
  }
  if (error instanceof AccountExistsError) {
    writeLine(io.stderr, `bizauth: account "${error.accountId}" already exists; see it with "bizauth account show ${error.accountId}"`)
    return EXIT_FAILURE
  }
  if (error instanceof AccountMissingError) {
    writeLine(io.stderr, `bizauth: account "${printable(error.accountId)}" does not exist; list the accounts with "bizauth account list"`)
    return EXIT_FAILURE
  }
  // A bug, not a user error: still one line, with the stack only on request. BIZAUTH_DEBUG is
  // typed here, not in the settings table of config.ts: it is a switch of this error path,
  // not a setting of the server.
  const message = error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)
  writeLine(io.stderr, `bizauth: unexpected error: ${printable(message, 300)} (set BIZAUTH_DEBUG=1 for the stack)`)
  if (io.env.BIZAUTH_DEBUG === '1' && error instanceof Error && error.stack) writeLine(io.stderr, error.stack)
  return EXIT_FAILURE
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}
