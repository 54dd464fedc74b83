/**
 * The attacker of the flood scenario, in a process of its own so that its load generation does
 * not sit in the event loop that times the honest clients.
 *
 * Every request carries a different random X-Forwarded-For (from 100.64.0.0/10, four million
 * addresses), so the per-IP failure limit alone cannot stop it. Requests alternate between
 * a wrong password for a real account (which the account lockout soon answers without
 * hashing) and an unknown account name (which always costs one argon2id check against the
 * dummy hash: the expensive part of the flood).
 *
 * Protocol: { type: 'init', url, connections, victim } -> { type: 'ready' };
 * { type: 'start', seconds } -> { type: 'flowing' } after the first 100 answers, then
 * { type: 'result', summary, codes } when it ends; { type: 'stop' } ends it early.
 */
import { randomBytes, randomInt } from 'node:crypto'
import { runLoad } from './load.mjs'
import { basicAuthorization } from './accounts.mjs'

let init
let instance

process.on('message', async (message) => {
  if (message.type === 'init') {
    init = message
    process.send({ type: 'ready' })
  } else if (message.type === 'start') {
    try {
      const codes = {}
      let answered = 0
      let sent = 0
      const summary = await runLoad({
        url: init.url,
        connections: init.connections,
        seconds: message.seconds,
        setupRequest(request) {
          sent++
          const account = sent % 2 === 0 ? init.victim : `nobody-${randomBytes(6).toString('hex')}`
          request.headers = {
            ...request.headers,
            authorization: basicAuthorization(account, randomBytes(12).toString('base64url')),
            'x-forwarded-for': randomAddress(),
          }
          return request
        },
        onResponse(status, body) {
          const code = status === 200 ? '200' : (/"code":"(\d+)"/.exec(body)?.[1] ?? `http-${status}`)
          codes[code] = (codes[code] ?? 0) + 1
          if (++answered === 100) process.send({ type: 'flowing' })
        },
        onInstance(started) {
          instance = started
        },
      })
      process.send({ type: 'result', summary, codes })
    } catch (error) {
      process.send({ type: 'error', message: `flood failed: ${error.message}` })
    }
  } else if (message.type === 'stop') {
    instance?.stop()
  }
})
process.once('disconnect', () => process.exit(0))

/** A random address in 100.64.0.0/10 (shared address space; never a real client here). */
function randomAddress() {
  const value = (100 << 24) | (64 << 16) | randomInt(0, 1 << 22)
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.')
}
