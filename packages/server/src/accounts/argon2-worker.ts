/**
 * One hash worker thread: argon2id hashing, and checks of every supported stored hash
 * (password-hashes.ts: imported bcrypt, scrypt and PBKDF2 hashes cost as much as argon2id). It lowers its own scheduling priority first: argon2id is slow on
 * purpose, and on a small machine a flood of checks would otherwise take the cores from the
 * event loop, so honest requests (and their cached credentials) would wait behind attackers'
 * hashing. At nice 10 the event loop wins whenever it has work; the hashing still gets every
 * cycle the loop does not need.
 */
import { hashSync } from '@node-rs/argon2'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { Argon2Job, Argon2Result } from './argon2-pool.js'
import { verifyPasswordHashSync } from './password-hashes.js'

function lowerOwnPriority(nice: number): void {
  try {
    // Linux: /proc/thread-self -> "<pid>/task/<tid>"; a thread id is a valid setpriority target.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice)
  } catch {
    // Other platforms, or a sandbox without /proc: run at normal priority.
  }
}

lowerOwnPriority((workerData as { nice: number }).nice)

parentPort!.on('message', (job: Argon2Job) => {
  let result: Argon2Result
  try {
    result =
      job.op === 'hash'
        ? { id: job.id, ok: true, value: hashSync(job.password, job.options) }
        : { id: job.id, ok: true, value: verifyPasswordHashSync(job.hash, job.password) }
  } catch (error) {
    // Only the error's kind crosses back: argon2's messages never name the password, but be sure.
    result = { id: job.id, ok: false, error: error instanceof Error ? error.name : 'Error' }
  }
  parentPort!.postMessage(result)
})
