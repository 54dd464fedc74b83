/**
 * The web console at /console: static files from the package (console/ for the page and its
 * style, dist/console/ for the compiled scripts), read once at start. Nothing comes from a CDN.
 * The headers every admin answer carries are set here too: a strict CSP without inline script.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { NotFoundError } from '../../errors.js'

/** From dist/src/http/admin/ to the package root. */
const PACKAGE_ROOT = new URL('../../../../', import.meta.url)
const STATIC_DIR = fileURLToPath(new URL('console/', PACKAGE_ROOT))
const SCRIPT_DIR = fileURLToPath(new URL('dist/console/', PACKAGE_ROOT))

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml' }

interface StaticFile {
  body: Buffer
  type: string
}

function readDir(dir: string, keep: (name: string) => boolean): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  let names: string[] = []
  try {
    names = readdirSync(dir)
  } catch {
    return files
  }
  for (const name of names.filter(keep)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))]
    if (type) files.set(name, { body: readFileSync(dir + name), type })
  }
  return files
}

/** The console's files by name: what `npm ci` built, and nothing else. */
export function consoleFiles(): Map<string, StaticFile> {
  return new Map([...readDir(STATIC_DIR, (name) => !name.endsWith('.ts') && !name.startsWith('tsconfig')), ...readDir(SCRIPT_DIR, (name) => name.endsWith('.js'))])
}

export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply) => {
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
  })
}

export function registerConsole(app: FastifyInstance): void {
  const files = consoleFiles()
  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/console/', 302))
  const send = (reply: FastifyReply, name: string): FastifyReply => {
    const file = files.get(name)
    if (!file) throw NotFoundError()
    return reply.header('content-type', file.type).header('cache-control', 'no-cache').send(file.body)
  }
  app.get('/console/', { schema: { hide: true } }, async (_request, reply) => send(reply, 'index.html'))
  app.get<{ Params: { file: string } }>('/console/:file', { schema: { hide: true } }, async (request, reply) => send(reply, request.params.file))
}
