import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// The package must load on Deno, Bun and workers: nothing the main entry reaches may import a
// node: module at load time. FileTokenStore imports node:fs lazily; only the CLI may import Node.
const sourceDirectory = fileURLToPath(new URL('../src/', import.meta.url))

test('no module of the main entry imports node:* statically', () => {
  const modules = readdirSync(sourceDirectory).filter((name) => name.endsWith('.js') && name !== 'cli.js')
  assert.ok(modules.includes('index.js') && modules.includes('file-token-store.js'))
  for (const name of modules) {
    const text = readFileSync(sourceDirectory + name, 'utf8')
    assert.doesNotMatch(text, /^\s*import[^(]*from\s+['"]node:/m, name)
    assert.doesNotMatch(text, /\brequire\(/, name)
  }
})

test('the main entry does not reach the CLI', () => {
  const index = readFileSync(sourceDirectory + 'index.js', 'utf8')
  assert.doesNotMatch(index, /cli\.js/)
})

test('the package exports the named API', async () => {
  const api = await import('../src/index.js')
  for (const name of ['TokenClient', 'BizauthError', 'FileTokenStore', 'MemoryTokenStore', 'parseKstTimestamp', 'formatKstTimestamp']) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name)
  }
})
