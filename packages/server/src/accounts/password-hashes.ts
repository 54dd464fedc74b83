/**
 * The stored password hashes bizauth can check (issue 12 §1): argon2id, which it writes, and the
 * formats other systems wrote, so that imported accounts keep their passwords:
 *
 * - argon2id, argon2i, argon2d as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`);
 * - bcrypt, `$2a$`, `$2b$`, `$2y$` (Spring, Laravel, PHP: the same algorithm under three names);
 * - scrypt as a PHC string, `$scrypt$ln=…,r=…,p=…$salt$hash` (passlib's format: B64 salt and key);
 * - Django's `pbkdf2_sha256$iterations$salt$hash` (the salt is text, the key standard base64).
 *
 * Every format's cost is bounded: an imported hash decides how much work each check of it costs,
 * and a hash that asks for hours (bcrypt cost 31) or gigabytes would let one file stall the hash
 * queue. Parameters beyond the bounds are refused at import with a message that says which.
 * Messages never quote the hash.
 */
import { verify as argon2Verify, verifySync as argon2VerifySync } from '@node-rs/argon2'
import { verify as bcryptVerify, verifySync as bcryptVerifySync } from '@node-rs/bcrypt'
import { pbkdf2, pbkdf2Sync, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { promisify } from 'node:util'

export type HashFamily = 'argon2' | 'bcrypt' | 'scrypt' | 'pbkdf2_sha256'

/** A hash bizauth cannot (or will not) check: unknown, malformed, or too costly. */
export class UnsupportedHashError extends Error {
  override readonly name = 'UnsupportedHashError'
}

export const SUPPORTED_HASH_FORMATS = 'argon2id/argon2i/argon2d PHC, bcrypt $2a$/$2b$/$2y$, $scrypt$ PHC, or Django pbkdf2_sha256$'

/** The bounds: each well above what the systems we import from use by default. */
const MAX_ARGON2_MEMORY_KIB = 1024 * 1024
const MAX_ARGON2_TIME = 64
const MAX_ARGON2_PARALLELISM = 16
const MAX_BCRYPT_COST = 16
const MAX_SCRYPT_MEMORY_BYTES = 1024 * 1024 * 1024
const MAX_SCRYPT_PARALLELISM = 16
const MAX_PBKDF2_ITERATIONS = 10_000_000
/** Shorter derived keys than this are no protection; both imported formats use 32 bytes. */
const MIN_KEY_BYTES = 16

type ParsedHash =
  | { family: 'argon2' | 'bcrypt'; text: string }
  | { family: 'scrypt'; options: ScryptOptions; salt: Buffer; key: Buffer }
  | { family: 'pbkdf2_sha256'; iterations: number; salt: string; key: Buffer }

const B64 = '[A-Za-z0-9+/]+'
const ARGON2 = new RegExp(`^\\$argon2(?:id|i|d)\\$(?:v=(?:16|19)\\$)?m=(\\d{1,10}),t=(\\d{1,10}),p=(\\d{1,3})\\$${B64}\\$(${B64})$`)
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/
const SCRYPT = new RegExp(`^\\$scrypt\\$ln=(\\d{1,2}),r=(\\d{1,3}),p=(\\d{1,3})\\$(${B64})\\$(${B64})$`)
const PBKDF2_SHA256 = /^pbkdf2_sha256\$(\d{1,9})\$([\x21-\x23\x25-\x7e]+)\$([A-Za-z0-9+/]+={0,2})$/

/** Parses and bounds a stored hash. @throws UnsupportedHashError saying what is wrong. */
export function parsePasswordHash(text: string): ParsedHash {
  if (text.startsWith('$argon2')) return parseArgon2(text)
  if (text.startsWith('$2')) return parseBcrypt(text)
  if (text.startsWith('$scrypt$')) return parseScrypt(text)
  if (text.startsWith('pbkdf2_sha256$')) return parsePbkdf2(text)
  throw new UnsupportedHashError(`not a supported hash format (${SUPPORTED_HASH_FORMATS})`)
}

/** Which family a hash is of, or undefined when it is none we check. */
export function hashFamily(text: string): HashFamily | undefined {
  try {
    return parsePasswordHash(text).family
  } catch {
    return undefined
  }
}

function parseArgon2(text: string): ParsedHash {
  const match = ARGON2.exec(text)
  if (!match) throw new UnsupportedHashError('a malformed argon2 PHC string (expected $argon2id$v=19$m=…,t=…,p=…$salt$hash)')
  const [memory, time, parallelism] = [Number(match[1]), Number(match[2]), Number(match[3])]
  within('argon2 memory (m, KiB)', memory, 8, MAX_ARGON2_MEMORY_KIB)
  within('argon2 iterations (t)', time, 1, MAX_ARGON2_TIME)
  within('argon2 lanes (p)', parallelism, 1, MAX_ARGON2_PARALLELISM)
  atLeastKeyBytes(Buffer.from(match[4]!, 'base64'))
  return { family: 'argon2', text }
}

function parseBcrypt(text: string): ParsedHash {
  const match = BCRYPT.exec(text)
  if (!match) throw new UnsupportedHashError('a malformed bcrypt hash (expected $2a$, $2b$ or $2y$, a two-digit cost and 53 characters)')
  within('bcrypt cost', Number(match[1]), 4, MAX_BCRYPT_COST)
  return { family: 'bcrypt', text }
}

function parseScrypt(text: string): ParsedHash {
  const match = SCRYPT.exec(text)
  if (!match) throw new UnsupportedHashError('a malformed scrypt PHC string (expected $scrypt$ln=…,r=…,p=…$salt$hash)')
  const [logCost, blockSize, parallelization] = [Number(match[1]), Number(match[2]), Number(match[3])]
  within('scrypt ln', logCost, 1, 30)
  within('scrypt r', blockSize, 1, 1024)
  within('scrypt p', parallelization, 1, MAX_SCRYPT_PARALLELISM)
  const cost = 2 ** logCost
  const memory = 128 * cost * blockSize
  if (memory > MAX_SCRYPT_MEMORY_BYTES) throw new UnsupportedHashError(`scrypt needs ${memory} bytes per check (128·2^ln·r), more than the ${MAX_SCRYPT_MEMORY_BYTES} allowed`)
  const key = Buffer.from(match[5]!, 'base64')
  atLeastKeyBytes(key)
  // maxmem: Node refuses a derivation above it; this one's need, with room for the p blocks.
  const options = { N: cost, r: blockSize, p: parallelization, maxmem: memory + 128 * blockSize * parallelization + 1024 * 1024 }
  return { family: 'scrypt', options, salt: Buffer.from(match[4]!, 'base64'), key }
}

function parsePbkdf2(text: string): ParsedHash {
  const match = PBKDF2_SHA256.exec(text)
  if (!match) throw new UnsupportedHashError('a malformed Django hash (expected pbkdf2_sha256$iterations$salt$base64-hash)')
  const iterations = Number(match[1])
  within('pbkdf2 iterations', iterations, 1, MAX_PBKDF2_ITERATIONS)
  const key = Buffer.from(match[3]!, 'base64')
  atLeastKeyBytes(key)
  return { family: 'pbkdf2_sha256', iterations, salt: match[2]!, key }
}

function within(what: string, value: number, min: number, max: number): void {
  if (value < min || value > max) throw new UnsupportedHashError(`${what} is ${value}; bizauth checks ${min} to ${max}`)
}

function atLeastKeyBytes(key: Buffer): void {
  if (key.length < MIN_KEY_BYTES) throw new UnsupportedHashError(`the hash is ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed`)
}

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>
const pbkdf2Async = promisify(pbkdf2)

function sameKey(derived: Buffer, stored: Buffer): boolean {
  return derived.length === stored.length && timingSafeEqual(derived, stored)
}

/**
 * Checks a password against a stored hash of any supported family, on libuv's threads.
 * @throws UnsupportedHashError for a hash of no supported family
 */
export async function verifyPasswordHash(stored: string, password: string): Promise<boolean> {
  const hash = parsePasswordHash(stored)
  switch (hash.family) {
    case 'argon2':
      return argon2Verify(hash.text, password)
    case 'bcrypt':
      return bcryptVerify(password, hash.text)
    case 'scrypt':
      return sameKey(await scryptAsync(password, hash.salt, hash.key.length, hash.options), hash.key)
    case 'pbkdf2_sha256':
      return sameKey(await pbkdf2Async(password, hash.salt, hash.iterations, hash.key.length, 'sha256'), hash.key)
  }
}

/** The same check, synchronously: for the hash worker threads (argon2-worker.ts), which own their thread. */
export function verifyPasswordHashSync(stored: string, password: string): boolean {
  const hash = parsePasswordHash(stored)
  switch (hash.family) {
    case 'argon2':
      return argon2VerifySync(hash.text, password)
    case 'bcrypt':
      return bcryptVerifySync(password, hash.text)
    case 'scrypt':
      return sameKey(scryptSync(password, hash.salt, hash.key.length, hash.options), hash.key)
    case 'pbkdf2_sha256':
      return sameKey(pbkdf2Sync(password, hash.salt, hash.iterations, hash.key.length, 'sha256'), hash.key)
  }
}
