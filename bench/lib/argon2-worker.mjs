/**
 * Times argon2id checks with the server's default parameters, in a process of its own while
 * no server is busy, through the server's own PasswordHasher (without its queue).
 *
 * Forked by the bench: receives { type: 'init', checks }, answers { type: 'ready', ... }:
 * - sequential: `checks` verifies one after another -> the time of one check;
 * - parallel: `checks` verifies spread over `cores` concurrent chains -> what the machine
 *   really does with every core hashing (information; the goal uses cores / time of one check).
 */
import { availableParallelism } from 'node:os'
import { randomBytes } from 'node:crypto'
import { serverModule } from './paths.mjs'

process.once('message', async ({ checks }) => {
  try {
    const { PasswordHasher } = await import(serverModule('accounts/passwords.js'))
    const { DEFAULTS } = await import(serverModule('config.js'))
    const hasher = new PasswordHasher(DEFAULTS.argon2)
    const password = randomBytes(18).toString('base64url')
    const hash = await hasher.hash(password)
    for (let i = 0; i < 3; i++) await hasher.verify(hash, password)

    const times = []
    const cpuBefore = process.cpuUsage()
    for (let i = 0; i < checks; i++) {
      const started = performance.now()
      if (!(await hasher.verify(hash, password))) throw new Error('argon2id verify of the right password returned false')
      times.push(performance.now() - started)
    }
    const cpu = process.cpuUsage(cpuBefore)
    // CPU time of a check (the threadpool thread's work shows up in the process's usage).
    const cpuMsPerCheck = (cpu.user + cpu.system) / 1000 / checks
    times.sort((a, b) => a - b)
    const meanMs = times.reduce((sum, t) => sum + t, 0) / times.length
    const medianMs = times[Math.floor(times.length / 2)]

    const cores = availableParallelism()
    const perChain = Math.max(1, Math.ceil(checks / cores))
    const started = performance.now()
    await Promise.all(
      Array.from({ length: cores }, async () => {
        for (let i = 0; i < perChain; i++) await hasher.verify(hash, password)
      }),
    )
    const parallelPerSecond = (perChain * cores) / ((performance.now() - started) / 1000)

    process.send({ type: 'ready', checks, cpuMsPerCheck, meanMs, medianMs, minMs: times[0], maxMs: times[times.length - 1], cores, parallelPerSecond, parameters: { ...DEFAULTS.argon2 } })
  } catch (error) {
    process.send({ type: 'error', message: `argon2id timing failed: ${error.message}` })
  }
  process.disconnect()
})
