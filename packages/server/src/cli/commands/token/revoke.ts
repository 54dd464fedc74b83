/**
 * `bizauth token revoke <jti-or-token>`. A whole token is read without verifying it (the
 * operator revokes whatever it names; a forged one names nothing of value): its jti and exp.
 * A bare jti is kept as long as any token can live: now + 24 h + the clock-skew margin.
 *
 * A token is a secret: `-` reads it from stdin instead of argv, and it is never printed.
 */
import type { CliIo } from '../../io.js'
import { defineCommand, printLine } from '../../command.js'
import { CliError } from '../../errors.js'
import { STORE_OPTIONS, withStore } from '../../store-options.js'
import { auditedChange, cliAuditWriter } from '../audit/shared.js'
import { RevocationTargetError, revocationTarget, revokeTokenById, type RevocationTarget } from '../../../revocation/revoke-token.js'
import { CLOCK_SKEW_SECONDS } from '../../../tokens/lifetime.js'

/** Far beyond any real token; a mistaken `< bigfile` is refused, not read whole. */
const MAX_INPUT_BYTES = 16 * 1024

async function readTokenFromStdin(stdin: CliIo['stdin']): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')
    if (text.length > MAX_INPUT_BYTES) throw new CliError(`stdin holds more than ${MAX_INPUT_BYTES} bytes; give one token on the first line`)
    if (text.includes('\n')) break
  }
  return text.split(/\r?\n/)[0] ?? ''
}

export default defineCommand({
  name: 'revoke',
  summary: 'Revoke one access token, given as the token itself or its jti ("-": read it from stdin).',
  description:
    'Running servers and verifiers that follow the revocation feed reject the token within seconds.\n' +
    'The revocation is forgotten once the token would have expired.',
  positionals: [{ name: 'JTI-OR-TOKEN', description: 'The token, its jti, or "-" to read either from the first line of stdin (keeps the token out of argv).' }],
  options: { ...STORE_OPTIONS },
  examples: [
    'bizauth token revoke 5f0c2d9e8a7b4c3d2e1f0a9b8c7d6e5f',
    'printf %s "$TOKEN" | bizauth token revoke -',
    'bizauth token revoke -- -Hx9...   (an id that starts with "-" goes after "--")',
  ],
  async run(context) {
    const given = context.args['JTI-OR-TOKEN'] ?? ''
    const text = given === '-' ? await readTokenFromStdin(context.io.stdin) : given
    let target: RevocationTarget
    try {
      target = revocationTarget(text)
    } catch (error) {
      if (error instanceof RevocationTargetError) throw new CliError(error.message)
      throw error
    }
    const audit = cliAuditWriter(context)
    await auditedChange(() => withStore(context, (store) => revokeTokenById(store, target.jti, target.exp, CLOCK_SKEW_SECONDS, audit)))
    printLine(context, `revoked token ${target.jti} (kept until ${new Date((target.exp + CLOCK_SKEW_SECONDS) * 1000).toISOString()})`)
  },
})
