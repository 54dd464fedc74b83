/**
 * One of the processes in the "two processes share one FileTokenStore" test: gets a token through
 * the store at argv[3] from the service at argv[2] and prints it. It waits for a line on stdin
 * first, so that the parent can start both processes before letting either ask.
 */
import { once } from 'node:events'
import { FileTokenStore } from '../../src/file-token-store.js'
import { TokenClient } from '../../src/token-client.js'

const [baseUrl, storePath] = process.argv.slice(2)
process.stdout.write('ready\n')
await once(process.stdin, 'data')
const client = new TokenClient({ account: 'acme', password: 'secret', baseUrl: baseUrl!, store: new FileTokenStore(storePath!) })
const token = await client.getToken()
process.stdout.write(`${JSON.stringify({ accessToken: token.accessToken })}\n`)
process.stdin.destroy()
