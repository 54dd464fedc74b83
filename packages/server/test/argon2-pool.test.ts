/** The argon2id worker pool: correct answers, bounded threads, lowered priority, clean shutdown. */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'
import { verify as argon2Verify } from '@node-rs/argon2'
import { Argon2Pool } from '../src/accounts/argon2-pool.js'
import { FAST_ARGON2 } from './helpers/app.js'

/** Nice values of this process's threads, from /proc (field 19 of each task's stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[16])
  })
}

describe('Argon2Pool', () => {
  it('hashes and verifies on its threads, in agreement with @node-rs/argon2 itself', async () => {
    const pool = new Argon2Pool(2)
    try {
      const hash = await pool.hash('pässwörd:1', { ...FAST_ARGON2, algorithm: 2 as never })
      assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
      assert.equal(await argon2Verify(hash, 'pässwörd:1'), true)
      assert.equal(await pool.verify(hash, 'pässwörd:1'), true)
      assert.equal(await pool.verify(hash, 'wrong'), false)
    } finally {
      await pool.close()
    }
  })

  it('runs more jobs than threads, never more threads than its size', async () => {
    const pool = new Argon2Pool(2)
    try {
      const before = readdirSync('/proc/self/task').length
      const hashes = await Promise.all(Array.from({ length: 7 }, (_, i) => pool.hash(`pw${i}`, { ...FAST_ARGON2 })))
      assert.equal(new Set(hashes).size, 7)
      const results = await Promise.all(hashes.map((hash, i) => pool.verify(hash, `pw${i}`)))
      assert.deepEqual(results, Array(7).fill(true))
      // Worker threads bring helper threads of their own, but two workers, not seven.
      assert.ok(readdirSync('/proc/self/task').length - before <= 2 * 8)
    } finally {
      await pool.close()
    }
  })

  it('runs its workers below normal priority, so hashing never starves the event loop', { skip: process.platform !== 'linux' && 'Linux only (/proc)' }, async () => {
    const pool = new Argon2Pool(1)
    try {
      const before = threadNiceValues().filter((nice) => nice === 10).length
      await pool.hash('pw', { ...FAST_ARGON2 })
      assert.ok(threadNiceValues().filter((nice) => nice === 10).length > before, 'a thread at nice 10 appeared')
      assert.equal(threadNiceValues()[0], 0, 'the main thread keeps its priority')
    } finally {
      await pool.close()
    }
  })

  it('answers a malformed stored hash as an error, not a crash, and keeps working', async () => {
    const pool = new Argon2Pool(1)
    try {
      await assert.rejects(pool.verify('not-a-phc-string', 'pw'), { name: 'Argon2WorkerError' })
      const hash = await pool.hash('pw', { ...FAST_ARGON2 })
      assert.equal(await pool.verify(hash, 'pw'), true)
    } finally {
      await pool.close()
    }
  })

  it('refuses work after close', async () => {
    const pool = new Argon2Pool(1)
    await pool.close()
    await assert.rejects(pool.hash('pw', { ...FAST_ARGON2 }), { name: 'Argon2WorkerError' })
  })
})
