// Where the built packages are. The bench imports compiled code (`npm run bench` runs `tsc -b` first).
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SERVER_DIST = join(REPO_ROOT, 'packages', 'server', 'dist', 'src')
export const BIZAUTH_BIN = join(REPO_ROOT, 'packages', 'server', 'bin', 'bizauth.js')
export const RESULTS_FILE = join(REPO_ROOT, '.bench', 'last.json')

/** A file:// URL for a dynamic import of a compiled server module, e.g. serverModule('store/open.js'). */
export function serverModule(relativePath) {
  return new URL(`file://${join(SERVER_DIST, relativePath)}`).href
}
