/**
 * Where a server's CPU went: `BENCH_CPU_PROF=/tmp/prof npm run bench` makes every bizauth
 * server write a V8 CPU profile when it stops; this prints, for the newest (or a given) one,
 * the functions with the most self time and the packages/files with the most inclusive time.
 *
 *   node bench/lib/cpu-profile-summary.mjs /tmp/prof [file.cpuprofile] [top=30]
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [dir, fileArg, topArg] = process.argv.slice(2)
if (!dir) {
  console.error('usage: node bench/lib/cpu-profile-summary.mjs DIR [FILE.cpuprofile] [TOP]')
  process.exit(2)
}
const file = fileArg ?? readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).sort().pop()
if (!file) {
  console.error(`no .cpuprofile in ${dir}`)
  process.exit(2)
}
const top = Number(topArg ?? 30)
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8'))
const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const parentOf = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id)

const selfTime = new Map()
let total = 0
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  selfTime.set(id, (selfTime.get(id) ?? 0) + delta)
  total += delta
})

const shorten = (url) => url.replace(/.*node_modules\//, '').replace(/.*\/packages\//, 'packages/')
const byFunction = new Map()
const byOwner = new Map()
for (const [id, time] of selfTime) {
  const { callFrame } = nodes.get(id)
  const key = `${callFrame.functionName || '(anonymous)'}  ${shorten(callFrame.url)}:${callFrame.lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + time)
  // Inclusive time per package (node_modules) or per file of ours, each counted once per stack.
  const seen = new Set()
  for (let current = id; current !== undefined; current = parentOf.get(current)) {
    const url = nodes.get(current).callFrame.url
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
    const owner = match ? match[1] : url.includes('/packages/') ? shorten(url) : undefined
    if (owner && !seen.has(owner)) {
      seen.add(owner)
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + time)
    }
  }
}
const print = (title, map) => {
  console.log(title)
  for (const [key, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((time / total) * 100).toFixed(1).padStart(6)}%  ${key}`)
}
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`)
print('\nself time by function:', byFunction)
print('\ninclusive time by package / file:', byOwner)
