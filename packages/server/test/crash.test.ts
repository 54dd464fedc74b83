/**
 * Nothing lost (issue 3 §6): the real `bizauth serve` on a SQLite file, under steady token
 * load, is killed with SIGKILL several times while `bizauth account` processes create
 * accounts and change passwords; it is restarted after each kill. Afterwards:
 *  - PRAGMA integrity_check is ok;
 *  - every account whose `create` exited 0 exists, and its last password whose
 *    `set-password` exited 0 gets a token;
 *  - every token issued before a kill verifies against the restarted server's JWKS (jose),
 *    so the signing key was persisted, not regenerated.
 * Everything is bounded: accounts, kills and requests by count, each wait by a deadline.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import Database from 'better-sqlite3'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { basic } from './helpers/app.js'
import { startTokenLoad, type LoadTarget } from './helpers/load.js'
import { bizauth, bizauthOk, serve, type ServeChild } from './helpers/server-process.js'
import { useTempDir } from './helpers/tmp.js'

const KILLS = 3
const ACCOUNTS = 6
const TOKENS_PER_GENERATION = 20

/** Polls (bounded) until `condition` holds; yields to the event loop between checks. */
async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

interface AccountRecord {
  id: string
  created: boolean
  /** Passwords that may be current: one when the last change was confirmed, two when its outcome is unknown. */
  candidates: string[]
}

describe('nothing lost when bizauth serve is killed (SIGKILL) mid-load', () => {
  it(`survives ${KILLS} kills under token load while the CLI changes accounts`, { timeout: 180_000 }, async (context) => {
    const dataDir = await useTempDir(context)
    const store = ['--data-dir', dataDir]
    const serveArgs = [...store, '--port', '0', '--log-level', 'info', '--rate-limit', '0', '--lockout-threshold', '0', '--ip-failure-limit', '0']
    await bizauthOk(['account', 'create', 'load', '--allow-ip', '127.0.0.1', '--password-stdin', ...store], { input: 'load password\n' })

    const target: LoadTarget = { url: undefined, generation: 0 }
    let server: ServeChild = await serve(serveArgs)
    context.after(() => server.kill('SIGKILL').then(() => undefined))
    target.url = server.url
    const load = startTokenLoad(() => target, basic('load', 'load password'), { workers: 2, maxRequests: 20_000 })
    context.after(() => load.stop())

    // The operator: create accounts and change each one's password, one CLI process at a time.
    const accounts: AccountRecord[] = []
    let operationsDone = 0
    let operatorFinished = false
    const operator = (async () => {
      for (let i = 0; i < ACCOUNTS; i++) {
        const record: AccountRecord = { id: `crash${i}`, created: false, candidates: [] }
        accounts.push(record)
        const created = await bizauth(['account', 'create', record.id, '--allow-ip', '127.0.0.1', '--password-stdin', ...store], { input: `first-pw-${i}\n` })
        operationsDone++
        if (created.code !== 0) continue
        record.created = true
        record.candidates = [`first-pw-${i}`]
        for (const round of [1, 2]) {
          const password = `changed-${i}-${round}`
          const changed = await bizauth(['account', 'set-password', record.id, '--password-stdin', ...store], { input: `${password}\n` })
          operationsDone++
          if (changed.code === 0) record.candidates = [password]
          else {
            record.candidates = [...record.candidates, password]
            break
          }
        }
      }
    })().finally(() => (operatorFinished = true))

    const tokensBeforeKills: number[] = []
    for (let kill = 1; kill <= KILLS; kill++) {
      const generation = target.generation
      const opsAtStart = operationsDone
      await until(() => load.issuedBy(generation) >= TOKENS_PER_GENERATION, `generation ${generation} issued ${TOKENS_PER_GENERATION} tokens`)
      // Mid-change as well as mid-load, as long as the operator still has work.
      await until(() => operationsDone > opsAtStart || operatorFinished, 'an account operation completed in this generation', 60_000)
      // Kill with a request on the wire, then let no new one start until the restart.
      await until(() => load.inFlight > 0, 'a token request is in flight')
      const killed = server.kill('SIGKILL')
      target.url = undefined
      const { signal } = await killed
      assert.equal(signal, 'SIGKILL')
      tokensBeforeKills.push(load.issued.length)
      target.generation = generation + 1
      server = await serve(serveArgs)
      target.url = server.url
    }

    await operator
    await until(() => load.issuedBy(target.generation) >= TOKENS_PER_GENERATION, 'the last generation issued tokens')
    await load.stop()
    const final = server

    // Clients saw tokens or dropped connections, never an error answer.
    assert.deepEqual([...load.outcomes.keys()].filter((key) => key !== '200' && key !== 'network'), [], JSON.stringify(Object.fromEntries(load.outcomes)))

    // Every token issued before each kill verifies against the restarted server's keys.
    const jwks = (await (await fetch(`${final.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
    const keySet = createLocalJWKSet(jwks)
    assert.ok(tokensBeforeKills.at(-1)! >= KILLS * TOKENS_PER_GENERATION)
    const generations = new Set<number>()
    for (const { token, generation } of load.issued) {
      const { payload } = await jwtVerify(token, keySet, { issuer: 'bizauth' })
      assert.equal(payload.sub, 'load')
      generations.add(generation)
    }
    assert.deepEqual([...generations].sort(), Array.from({ length: KILLS + 1 }, (_, i) => i), 'tokens from every server process')
    // One signing key across all restarts: it was persisted, not regenerated after a kill.
    assert.equal(jwks.keys.length, 1, `keys: ${jwks.keys.map((key) => key.kid).join(', ')}`)

    // Every created account exists with its last confirmed password.
    const confirmed = accounts.filter((record) => record.created)
    assert.ok(confirmed.length >= 1, 'the operator created accounts')
    for (const record of confirmed) {
      const answers = await Promise.all(
        record.candidates.map(async (password) => (await fetch(`${final.url}/v1/token`, { method: 'POST', headers: { authorization: basic(record.id, password) } })).status),
      )
      if (record.candidates.length === 1) assert.equal(answers[0], 200, `${record.id} with its last confirmed password`)
      else assert.ok(answers.includes(200), `${record.id} with one of ${record.candidates.length} possible passwords`)
      const stale = `first-pw-${record.id.slice('crash'.length)}`
      if (!record.candidates.includes(stale)) {
        const old = await fetch(`${final.url}/v1/token`, { method: 'POST', headers: { authorization: basic(record.id, stale) } })
        assert.equal(old.status, 400, `${record.id}: a replaced password no longer works`)
      }
    }

    // And the file itself is sound, after one more kill for good measure.
    await final.kill('SIGKILL')
    const database = new Database(join(dataDir, 'bizauth.sqlite'), { readonly: true, fileMustExist: true })
    try {
      assert.equal(database.pragma('integrity_check', { simple: true }), 'ok')
      const ids = new Set((database.prepare('select id from accounts').all() as Array<{ id: string }>).map((row) => row.id))
      for (const record of confirmed) assert.ok(ids.has(record.id), `${record.id} is in the file`)
      assert.ok(ids.has('load'))
    } finally {
      database.close()
    }
    context.diagnostic(`requests: ${JSON.stringify(Object.fromEntries(load.outcomes))}; tokens verified: ${load.issued.length}; accounts: ${confirmed.length}/${ACCOUNTS}`)
  })
})
