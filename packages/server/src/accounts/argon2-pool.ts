/**
 * argon2id on worker threads of their own (see argon2-worker.ts for why they run at a lower
 * priority). The HashQueue in front decides how many checks run at once; the pool only owns
 * the threads: created on first use, referenced only while they work (an idle pool never
 * keeps the process alive), replaced if one dies.
 */
import { Worker } from 'node:worker_threads'
import type { Options } from '@node-rs/argon2'

export type Argon2Job =
  | { id: number; op: 'hash'; password: string; options: Options }
  | { id: number; op: 'verify'; hash: string; password: string }

export type Argon2Result = { id: number; ok: true; value: string | boolean } | { id: number; ok: false; error: string }

type JobInput = Omit<Extract<Argon2Job, { op: 'hash' }>, 'id'> | Omit<Extract<Argon2Job, { op: 'verify' }>, 'id'>

interface Slot {
  worker: Worker
  job: { id: number; resolve: (value: string | boolean) => void; reject: (error: Error) => void } | undefined
}

export class Argon2WorkerError extends Error {
  override readonly name = 'Argon2WorkerError'
}

/** Worker threads' niceness: below the event loop, above nothing else in particular. */
const WORKER_NICE = 10

export class Argon2Pool {
  readonly #slots: Slot[] = []
  readonly #backlog: Array<{ input: JobInput; resolve: (value: string | boolean) => void; reject: (error: Error) => void }> = []
  #nextId = 1
  #closed = false

  constructor(readonly size: number) {}

  hash(password: string, options: Options): Promise<string> {
    return this.#run({ op: 'hash', password, options }) as Promise<string>
  }

  verify(hash: string, password: string): Promise<boolean> {
    return this.#run({ op: 'verify', hash, password }) as Promise<boolean>
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const waiting of this.#backlog.splice(0)) waiting.reject(new Argon2WorkerError('argon2 pool closed'))
    await Promise.all(this.#slots.splice(0).map((slot) => slot.worker.terminate()))
  }

  #run(input: JobInput): Promise<string | boolean> {
    if (this.#closed) return Promise.reject(new Argon2WorkerError('argon2 pool closed'))
    return new Promise((resolve, reject) => {
      const slot = this.#idleSlot()
      if (slot) this.#dispatch(slot, input, resolve, reject)
      else this.#backlog.push({ input, resolve, reject })
    })
  }

  #idleSlot(): Slot | undefined {
    const idle = this.#slots.find((slot) => slot.job === undefined)
    if (idle) return idle
    if (this.#slots.length < this.size) return this.#spawn()
    return undefined
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./argon2-worker.js', import.meta.url), { workerData: { nice: WORKER_NICE } })
    worker.unref()
    const slot: Slot = { worker, job: undefined }
    worker.on('message', (result: Argon2Result) => this.#finish(slot, result))
    const fail = (error: Error) => this.#lose(slot, error)
    worker.on('error', fail)
    worker.on('exit', (code) => fail(new Argon2WorkerError(`argon2 worker exited with code ${code}`)))
    this.#slots.push(slot)
    return slot
  }

  #dispatch(slot: Slot, input: JobInput, resolve: (value: string | boolean) => void, reject: (error: Error) => void): void {
    const id = this.#nextId++
    slot.job = { id, resolve, reject }
    slot.worker.ref()
    slot.worker.postMessage({ ...input, id } as Argon2Job)
  }

  #finish(slot: Slot, result: Argon2Result): void {
    const job = slot.job
    if (!job || job.id !== result.id) return
    slot.job = undefined
    slot.worker.unref()
    if (result.ok) job.resolve(result.value)
    else job.reject(new Argon2WorkerError(`argon2 failed (${result.error})`))
    this.#drain(slot)
  }

  /** A worker that errored or exited is dropped; its job fails, the backlog moves to a new one. */
  #lose(slot: Slot, error: Error): void {
    const index = this.#slots.indexOf(slot)
    if (index < 0) return
    this.#slots.splice(index, 1)
    slot.job?.reject(error)
    slot.job = undefined
    if (!this.#closed && this.#backlog.length > 0) {
      const next = this.#idleSlot()
      if (next) this.#drain(next)
    }
  }

  #drain(slot: Slot): void {
    const waiting = this.#backlog.shift()
    if (waiting) this.#dispatch(slot, waiting.input, waiting.resolve, waiting.reject)
  }
}
