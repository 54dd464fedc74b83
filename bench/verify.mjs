#!/usr/bin/env node
// In-process @bizauth/verify against its floor: the raw node:crypto Ed25519 verify of the very
// same signature, and a bare Map lookup of the very same token string, all in one run.
// Prints figures and ratios against the goals; never fails on time.
//
//   node bench/verify.mjs [seconds-per-case]        (after `npx tsc -b packages/verify`)
//   import { runVerifyBench } from './verify.mjs'; await runVerifyBench({ seconds: 2 })
import { createPublicKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { pathToFileURL } from 'node:url'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { createVerifier } from '../packages/verify/dist/src/index.js'

const GOAL_CACHED_PER_SECOND = 300_000
const GOAL_UNCACHED_OF_RAW = 0.9
// Cases take turns in short slices, so that load from other processes on a shared machine falls
// on all of them alike and the ratios stay meaningful even when the absolute figures wobble.
const SLICE_MS = 50

function makeToken() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-key', alg: 'EdDSA', use: 'sig' }
  const now = Math.floor(Date.now() / 1000)
  const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'bench-key', typ: 'JWT' })).toString('base64url')
  const payload = Buffer.from(JSON.stringify({ iss: 'bizauth', sub: 'acme', iat: now, exp: now + 86_400, jti: 'Xb3kQ9vT2mLpR7wZ1nYc4A' })).toString('base64url')
  const signingInput = `${header}.${payload}`
  const signature = cryptoSign(null, Buffer.from(signingInput), privateKey)
  return { jwk, publicKey: createPublicKey(publicKey.export({ format: 'pem', type: 'spki' })), signingInput, signature, token: `${signingInput}.${signature.toString('base64url')}` }
}

/** Runs `operation` (sync or async) for about `ms`; returns how many ran and how long it took. */
async function measure(operation, ms, isAsync) {
  let count = 0
  const batch = isAsync ? 16 : 256
  const started = process.hrtime.bigint()
  const deadline = started + BigInt(Math.round(ms * 1e6))
  let now = started
  while (now < deadline) {
    if (isAsync) for (let i = 0; i < batch; i++) await operation()
    else for (let i = 0; i < batch; i++) operation()
    count += batch
    now = process.hrtime.bigint()
  }
  return { operations: count, elapsedSeconds: Number(now - started) / 1e9 }
}

export async function runVerifyBench({ seconds = 2, log = console.log } = {}) {
  const { jwk, publicKey, signingInput, signature, token, } = makeToken()
  const authorization = `Bearer ${token}`
  const data = Buffer.from(signingInput)
  const cached = createVerifier({ issuer: 'bizauth', keys: { keys: [jwk] } })
  const uncached = createVerifier({ issuer: 'bizauth', keys: { keys: [jwk] }, cache: false })
  const joseKeys = createLocalJWKSet({ keys: [jwk] })
  const map = new Map([[token, { sub: 'acme' }]])
  let sink = 0

  // Correctness first: every contender must accept the token.
  if ((await cached(authorization)).sub !== 'acme' || (await uncached(authorization)).sub !== 'acme') throw new Error('verify() refused the bench token')
  if (!cryptoVerify(null, data, publicKey, signature)) throw new Error('raw verify refused the bench token')

  const cases = {
    'Map.get(token)': { run: () => { sink += map.get(token) === undefined ? 0 : 1 }, isAsync: false },
    'verify() cached': { run: () => cached(authorization), isAsync: true },
    'node:crypto Ed25519 verify': { run: () => { sink += cryptoVerify(null, data, publicKey, signature) ? 1 : 0 }, isAsync: false },
    'verify() uncached': { run: () => uncached(authorization), isAsync: true },
    'jose jwtVerify (reference)': { run: () => jwtVerify(token, joseKeys, { issuer: 'bizauth', algorithms: ['EdDSA'] }), isAsync: true },
  }
  for (const { run, isAsync } of Object.values(cases)) await measure(run, 200, isAsync) // warm-up
  const totals = Object.fromEntries(Object.keys(cases).map((name) => [name, { operations: 0, seconds: 0 }]))
  const slices = Math.max(1, Math.round((seconds * 1000) / SLICE_MS))
  for (let slice = 0; slice < slices; slice++) {
    for (const [name, { run, isAsync }] of Object.entries(cases)) {
      const { operations, elapsedSeconds } = await measure(run, SLICE_MS, isAsync)
      totals[name].operations += operations
      totals[name].seconds += elapsedSeconds
    }
  }
  const perSecond = Object.fromEntries(Object.entries(totals).map(([name, { operations, seconds: spent }]) => [name, operations / spent]))
  cached.close()
  uncached.close()

  const results = {
    opsPerSecond: perSecond,
    ratios: {
      cachedToGoal: perSecond['verify() cached'] / GOAL_CACHED_PER_SECOND,
      cachedToMap: perSecond['verify() cached'] / perSecond['Map.get(token)'],
      uncachedToRawCrypto: perSecond['verify() uncached'] / perSecond['node:crypto Ed25519 verify'],
      joseToRawCrypto: perSecond['jose jwtVerify (reference)'] / perSecond['node:crypto Ed25519 verify'],
    },
    goals: {
      cachedAtLeast300k: perSecond['verify() cached'] >= GOAL_CACHED_PER_SECOND,
      uncachedAtLeast90PercentOfRaw: perSecond['verify() uncached'] / perSecond['node:crypto Ed25519 verify'] >= GOAL_UNCACHED_OF_RAW,
    },
    sink,
  }
  log(`\n@bizauth/verify in-process (${seconds}s per case in ${slices} interleaved ${SLICE_MS} ms slices, Node ${process.version})`)
  for (const [name, figure] of Object.entries(perSecond)) {
    log(`  ${name.padEnd(30)} ${Math.round(figure).toLocaleString('en-US').padStart(12)} ops/s  ${(1e6 / figure).toFixed(2).padStart(8)} µs/op`)
  }
  const percent = (ratio) => `${(ratio * 100).toFixed(1)}%`
  log(`  cached / goal 300,000/s          ${percent(results.ratios.cachedToGoal)}  ${results.goals.cachedAtLeast300k ? 'goal met' : 'goal NOT met'}`)
  log(`  cached / bare Map.get            ${percent(results.ratios.cachedToMap)}`)
  log(`  uncached / raw node:crypto       ${percent(results.ratios.uncachedToRawCrypto)}  (goal 90%: ${results.goals.uncachedAtLeast90PercentOfRaw ? 'met' : 'NOT met'})`)
  log(`  jose jwtVerify / raw node:crypto ${percent(results.ratios.joseToRawCrypto)}  (why verify() checks signatures with node:crypto)`)
  return results
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runVerifyBench({ seconds: Number(process.argv[2] ?? process.env.BENCH_SECONDS ?? 2) })
}
