/**
 * `bizauth-token`: prints a token as JSON for shell scripts. Node only (the package's main entry
 * does not import this file). Only bin/bizauth-token.js touches process.exit; this returns a code.
 */
import { parseArgs } from 'node:util'
import { BizauthError } from './errors.js'
import { FileTokenStore } from './file-token-store.js'
import { DEFAULT_BASE_URL, TokenClient } from './token-client.js'

export const USAGE = `Usage: bizauth-token --account ID --password-stdin [options]

Issues a token (POST /v1/token) and prints it as JSON:
  {"accessToken":"…","type":"Bearer","expiresAt":"<ISO 8601 UTC>","expired":"<KST yyyyMMddHHmmss>"}

Options:
  --account ID          the API account (required)
  --password-stdin      read the password from the first line of standard input (required;
                        there is deliberately no --password flag: argv is visible to other users)
  --base-url URL        the service (default ${DEFAULT_BASE_URL}; staging is
                        https://dev-api.bizppurio.com)
  --store FILE          share and reuse tokens through this file (FileTokenStore, mode 0600),
                        so repeated runs do not issue a new token each time
  --timeout-ms N        deadline for each token request, body included (default 10000)
  --retries N           extra attempts for retryable failures (default 3)
  -h, --help            print this help

Exit status: 0 with the token on stdout; 1 with "CODE description" on stderr when the service or
the network fails; 2 for a usage error.
`

export interface CommandIo {
  stdin: AsyncIterable<Buffer | string>
  stdout: { write(text: string): unknown }
  stderr: { write(text: string): unknown }
}

export async function runTokenCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  let values: ReturnType<typeof parseCommandLine>
  try {
    values = parseCommandLine(argv)
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help === true) {
    io.stdout.write(USAGE)
    return 0
  }
  if (values.account === undefined || values['password-stdin'] !== true) {
    io.stderr.write(`--account and --password-stdin are required\n\n${USAGE}`)
    return 2
  }
  const password = await readFirstLine(io.stdin)
  if (password.length === 0) {
    io.stderr.write('no password on standard input\n')
    return 2
  }
  let client: TokenClient
  try {
    client = new TokenClient({
      account: values.account,
      password,
      baseUrl: values['base-url'],
      timeoutMs: optionalInteger(values['timeout-ms'], '--timeout-ms'),
      retries: optionalInteger(values.retries, '--retries'),
      store: values.store === undefined ? undefined : new FileTokenStore(values.store),
    })
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`)
    return 2
  }
  try {
    const token = await client.getToken()
    io.stdout.write(`${JSON.stringify({ ...token, expiresAt: token.expiresAt.toISOString() })}\n`)
    return 0
  } catch (error) {
    if (error instanceof BizauthError) {
      io.stderr.write(`${error.code} ${error.description}\n`)
    } else {
      io.stderr.write('INTERNAL unexpected failure\n')
    }
    return 1
  }
}

function parseCommandLine(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      account: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'base-url': { type: 'string' },
      store: { type: 'string' },
      'timeout-ms': { type: 'string' },
      retries: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
}

function optionalInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d+$/.test(text)) throw new TypeError(`${flag} must be a whole number`)
  return Number(text)
}

/** The password is the first line; the rest of stdin is not read into memory. */
async function readFirstLine(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  let text = ''
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8')
    if (text.includes('\n')) break
  }
  return text.split('\n')[0]!.replace(/\r$/, '')
}
