#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist/test/**/*.test.js) with node's own test runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
//
// Service-backed tests read BIZAUTH_TEST_DATABASE_URL (PostgreSQL) and BIZAUTH_TEST_REDIS_URL (Redis).
// Without them those tests are skipped with a visible reason; with BIZAUTH_REQUIRE_SERVICES=1
// (set by .ci/run) a missing service fails the run instead of skipping it.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'

const root = new URL('..', import.meta.url).pathname
const filter = process.argv.slice(2)

function collect(dir, out) {
  let entries
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) collect(path, out)
    else if (name.endsWith('.test.js')) out.push(path)
  }
  return out
}

const files = []
for (const pkg of readdirSync(join(root, 'packages'))) collect(join(root, 'packages', pkg, 'dist', 'test'), files)
const selected = filter.length ? files.filter((f) => filter.some((s) => f.includes(s))) : files
if (selected.length === 0) {
  console.error('no test files found; did `tsc -b` run?')
  process.exit(1)
}

const services = [['PostgreSQL', 'BIZAUTH_TEST_DATABASE_URL'], ['Redis', 'BIZAUTH_TEST_REDIS_URL']]
for (const [name, variable] of services) {
  if (!process.env[variable]) console.log(`# NOTE: ${variable} is not set: the ${name} tests will be SKIPPED (see README, "Tests").`)
}

// Files that bound the event loop's delay run on their own after the rest: another test file
// hashing on both cores at the same moment would measure the machine, not the server.
const ALONE = ['sqlite-write-lock.test.js']
const alone = selected.filter((file) => ALONE.some((name) => file.endsWith(name)))
const together = selected.filter((file) => !alone.includes(file))
let status = 0
if (together.length) status = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...together], { stdio: 'inherit' }).status ?? 1
if (alone.length) {
  const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...alone], { stdio: 'inherit' })
  status = status || (result.status ?? 1)
}
process.exit(status)
