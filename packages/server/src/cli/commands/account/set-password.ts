import { AccountMissingError } from '../../../store/store.js'
import { booleanOption, defineCommand, printLine, stringOption } from '../../command.js'
import { UsageError } from '../../errors.js'
import { passwordSource, promptNewPassword, readPasswordFromStdin } from '../../password-input.js'
import { STORE_OPTIONS } from '../../store-options.js'
import {
  ACCOUNT_ID_ARGUMENT,
  PASSWORD_STDIN_OPTION,
  accountIdArgument,
  durationSeconds,
  passwordHasherFromEnv,
  passwordPolicyOption,
  revokedBefore,
  withAdministration,
} from './shared.js'

export default defineCommand({
  name: 'set-password',
  summary: "Change an account's password; its earlier tokens are revoked (unless --keep-previous-for).",
  description:
    "Change an account's password. Every token issued before the change is revoked (issue 4 §2).\n" +
    'With --keep-previous-for, the previous password keeps working for that long (at most 7 days)\n' +
    'and earlier tokens stay valid: a rotation without downtime. "bizauth account\n' +
    'drop-previous-password" ends it early. The password comes from --password-stdin, or from a\n' +
    'prompt on a TTY; it must meet the password policy (--password-min-length, --password-min-classes).',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: {
    'password-stdin': PASSWORD_STDIN_OPTION,
    'keep-previous-for': { type: 'string', valueName: 'DURATION', description: 'Keep the previous password working this long, e.g. 24h (at most 7d); earlier tokens stay valid.' },
    ...STORE_OPTIONS,
  },
  examples: [
    "printf '%s\\n' \"$NEW_PASSWORD\" | bizauth account set-password acme --password-stdin",
    "printf '%s\\n' \"$NEW_PASSWORD\" | bizauth account set-password acme --password-stdin --keep-previous-for 24h",
  ],
  async run(context) {
    const id = accountIdArgument(context)
    const keepText = stringOption(context, 'keep-previous-for')
    const keepPreviousForSeconds = keepText === undefined ? undefined : durationSeconds('keep-previous-for', keepText)
    const source = passwordSource(context.io, booleanOption(context, 'password-stdin'))
    if (source === 'none') {
      throw new UsageError(context.commandPath, 'no password source: stdin is not a terminal, so pass --password-stdin and pipe the password in')
    }
    passwordHasherFromEnv(context)
    passwordPolicyOption(context)
    await withAdministration(context, async (administration) => {
      // Checked before asking for a password, so nobody types one for nothing.
      if (!(await administration.exists(id))) throw new AccountMissingError(id)
      const password = source === 'stdin' ? await readPasswordFromStdin(context.io) : await promptNewPassword(context.io)
      const { revocation, after } = await administration.setPassword(id, password, keepPreviousForSeconds === undefined ? {} : { keepPreviousForSeconds })
      if (revocation) printLine(context, `changed the password of ${id}; tokens issued before ${revokedBefore(revocation.validAfter)} are revoked`)
      else printLine(context, `changed the password of ${id}; the previous password works until ${after!.previousPasswordValidUntil!.toISOString()}, and earlier tokens stay valid`)
    })
  },
})
