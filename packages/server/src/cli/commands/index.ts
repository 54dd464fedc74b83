/**
 * The top-level commands. Each is imported only when it runs, so `bizauth account list` never
 * loads the HTTP server. A new command plugs in with one line here and one file beside it
 * (e.g. `keys: () => import('./keys/index.js').then((m) => m.default)`).
 */
import type { Command } from '../command.js'

export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: () => import('./serve.js').then((m) => m.default),
  migrate: () => import('./migrate.js').then((m) => m.default),
  account: () => import('./account/index.js').then((m) => m.default),
  keys: () => import('./keys/index.js').then((m) => m.default),
  token: () => import('./token/index.js').then((m) => m.default),
  audit: () => import('./audit/index.js').then((m) => m.default),
}
