/**
 * argon2id in PHC strings (RFC 9106), through @node-rs/argon2.
 *
 * Defaults m=19456 KiB, t=2, p=1 (OWASP's argon2id minimum). A stored hash whose parameters
 * differ from the configured ones, or of another family (an imported bcrypt, scrypt or PBKDF2
 * hash), is re-hashed after a successful check (`needsRehash`).
 * In the server every check and hash goes through the shared HashQueue and runs on the
 * low-priority worker threads of an Argon2Pool; without a pool (the CLI) it runs on libuv's.
 */
import { hash as argon2Hash, parseOptions } from '@node-rs/argon2'
import type { Account } from '../store/store.js'
import type { Argon2Pool } from './argon2-pool.js'
import type { HashQueue } from './hash-queue.js'
import { verifyPasswordHash } from './password-hashes.js'

export interface Argon2Parameters {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/** `Algorithm.Argon2id` of @node-rs/argon2 (a const enum, which isolated modules cannot import). */
const ARGON2ID = 2

export class PasswordHasher {
  readonly #queue: HashQueue | undefined
  readonly #pool: Argon2Pool | undefined
  /** Verifications performed (real argon2id work, not cache hits). Tests count these. */
  verifications = 0

  constructor(
    readonly parameters: Argon2Parameters,
    queue?: HashQueue,
    pool?: Argon2Pool,
  ) {
    this.#queue = queue
    this.#pool = pool
  }

  #schedule<T>(job: () => Promise<T>): Promise<T> {
    return this.#queue ? this.#queue.run(job) : job()
  }

  hash(password: string): Promise<string> {
    const options = { ...this.parameters, algorithm: ARGON2ID as never }
    return this.#schedule(() => (this.#pool ? this.#pool.hash(password, options) : argon2Hash(password, options)))
  }

  /**
   * Checks against a stored hash of any supported family (password-hashes.ts: an imported bcrypt,
   * scrypt or PBKDF2 hash goes through the same queue). A malformed stored hash verifies as
   * false, never throws.
   */
  verify(passwordHash: string, password: string): Promise<boolean> {
    return this.#schedule(async () => {
      this.verifications++
      try {
        return await (this.#pool ? this.#pool.verify(passwordHash, password) : verifyPasswordHash(passwordHash, password))
      } catch {
        return false
      }
    })
  }

  needsRehash(passwordHash: string): boolean {
    try {
      const options = parseOptions(passwordHash)
      return (
        (options.algorithm as number) !== ARGON2ID ||
        options.memoryCost !== this.parameters.memoryCost ||
        options.timeCost !== this.parameters.timeCost ||
        options.parallelism !== this.parameters.parallelism
      )
    } catch {
      return true
    }
  }
}

/** A strong password when none is given, always within the password policy (password-policy.ts). */
export { generateCompliantPassword as generatePassword } from './password-policy.js'

/**
 * The stored hashes a password may match at `now` (epoch ms): the current one, and during a
 * rotation (issue 12 §2) the previous one until its instant. The current one comes first.
 */
export function acceptedPasswordHashes(account: Pick<Account, 'passwordHash'> & Partial<Pick<Account, 'previousPassword'>>, now: number): string[] {
  const previous = account.previousPassword
  return previous && previous.validUntil.getTime() > now ? [account.passwordHash, previous.passwordHash] : [account.passwordHash]
}
