/**
 * The two ways a command fails on purpose. Each renders as one line on stderr, never a stack:
 *
 * - UsageError (exit 2): the command line itself is wrong (unknown flag or command, missing
 *   argument). The message points to `--help`.
 * - CliError (exit 1): the command line is well formed but a value or the state is not
 *   (bad CIDR, duplicate account, missing account, unreachable database). The message says
 *   what to do next.
 *
 * Messages never carry a secret: no password, no hash, no database-URL password.
 */

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export class UsageError extends Error {
  override readonly name = 'UsageError'
  readonly exitCode = EXIT_USAGE
  /** The command path whose help the message points to, e.g. `bizauth account create`. */
  constructor(
    readonly commandPath: string,
    problem: string,
  ) {
    super(problem)
  }
}

export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message)
  }
}

/** User input echoed in a message may be anything: one shared rule keeps it printable. */
export { printable } from '../printable.js'
