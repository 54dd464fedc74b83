/**
 * Gates and counters for tests of concurrency on the authentication path (issue 3 §2, issue 13):
 * the hash queue is held busy by jobs the test controls, so a request can be parked at a known
 * point, and argon2id work is counted, never timed.
 */
import type { TestApp } from './app.js'
import { waitFor } from './wait-for.js'

export interface HeldHashQueue {
  /** Lets the held jobs finish: the queue serves its waiters from then on. */
  release(): void
  done: Promise<unknown>
}

/** Occupies every slot of the hash queue until `release()`: the state a flood leaves it in. */
export function holdHashQueue(t: TestApp): HeldHashQueue {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  const jobs = Array.from({ length: t.services.hashQueue.concurrency }, () => t.services.hashQueue.run(() => gate))
  return { release, done: Promise.all(jobs) }
}

/** Resolves once at least `count` jobs wait for a slot of the (held) hash queue; bounded. */
export function untilHashQueueWaiting(t: TestApp, count = 1): Promise<true> {
  return waitFor(() => (t.services.hashQueue.waiting >= count ? true : undefined), { intervalMs: 1, what: `${count} job(s) to wait in the hash queue` })
}

export interface ArgonCost {
  /** Real argon2id verifications (PasswordHasher.verifications). */
  verifications: number
  /** Jobs the hash queue started (verifications and hashes). */
  started: number
}

/** Runs `work` and returns its result with the argon2id work it cost on `t`'s server. */
export async function counted<T>(t: TestApp, work: () => Promise<T>): Promise<{ result: T; cost: ArgonCost }> {
  const verifications = t.services.hasher.verifications
  const started = t.services.hashQueue.started
  const result = await work()
  return { result, cost: { verifications: t.services.hasher.verifications - verifications, started: t.services.hashQueue.started - started } }
}
