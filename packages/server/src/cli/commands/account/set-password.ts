import { AccountMissingError } from '../../../store/store.js'
import { booleanOption, defineCommand, printLine } from '../../command.js'
import { UsageError } from '../../errors.js'
import { passwordSource, promptNewPassword, readPasswordFromStdin } from '../../password-input.js'
import { STORE_OPTIONS } from '../../store-options.js'
import { ACCOUNT_ID_ARGUMENT, PASSWORD_STDIN_OPTION, accountIdArgument, passwordHasherFromEnv, revokedBefore, withAdministration } from './shared.js'

export default defineCommand({
  name: 'set-password',
  summary: "Change an account's password; its earlier tokens are revoked.",
  description:
    "Change an account's password. Every token issued before the change is revoked (issue 4 §2).\n" +
    'The password comes from --password-stdin, or from a prompt on a TTY.',
  positionals: [ACCOUNT_ID_ARGUMENT],
  options: { 'password-stdin': PASSWORD_STDIN_OPTION, ...STORE_OPTIONS },
  examples: ["printf '%s\\n' \"$NEW_PASSWORD\" | bizauth account set-password acme --password-stdin"],
  async run(context) {
    const id = accountIdArgument(context)
    const source = passwordSource(context.io, booleanOption(context, 'password-stdin'))
    if (source === 'none') {
      throw new UsageError(context.commandPath, 'no password source: stdin is not a terminal, so pass --password-stdin and pipe the password in')
    }
    passwordHasherFromEnv(context)
    await withAdministration(context, async (administration) => {
      // Checked before asking for a password, so nobody types one for nothing.
      if (!(await administration.exists(id))) throw new AccountMissingError(id)
      const password = source === 'stdin' ? await readPasswordFromStdin(context.io) : await promptNewPassword(context.io)
      const { revocation } = await administration.setPassword(id, password)
      printLine(context, `changed the password of ${id}; tokens issued before ${revokedBefore(revocation!.validAfter)} are revoked`)
    })
  },
})
