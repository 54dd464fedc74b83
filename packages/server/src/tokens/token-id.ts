/**
 * Token ids (`jti`): 128 random bits as 32 lowercase hex digits. Hex, not base64url: a
 * base64url id starts with `-` one time in 64, and an operator pasting it into
 * `bizauth token revoke <jti>` would have it read as an option.
 *
 * One `randomBytes` call per token costs a few microseconds of fixed overhead on the hot
 * path; drawing 16-byte slices from a 4 KiB buffer refilled from the CSPRNG when used up
 * gives the same bits for a fraction of it. Each slice is used once.
 */
import { randomFillSync } from 'node:crypto'

const ID_BYTES = 16
const POOL_BYTES = 4096

const pool = Buffer.alloc(POOL_BYTES)
let offset = POOL_BYTES

export function newTokenId(): string {
  if (offset + ID_BYTES > POOL_BYTES) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('hex', offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
}
