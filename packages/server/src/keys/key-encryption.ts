/**
 * Private keys at rest: AES-256-GCM under the `keyEncryptionKey` setting when it is set.
 *
 * Stored form: `aes256gcm:v1:<iv>.<tag>.<ciphertext>` (base64url parts). The key id's
 * record id is bound as additional authenticated data, so a ciphertext cannot be moved to
 * another key's row. A passphrase is stretched with scrypt; 64 hex digits are used as is.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto'
import { SETTINGS } from '../config.js'

const VARIABLE = SETTINGS.keyEncryptionKey.env

const PREFIX = 'aes256gcm:v1:'

export class KeyEncryptionError extends Error {
  override readonly name = 'KeyEncryptionError'
}

export interface KeyEncryption {
  readonly enabled: boolean
  seal(plaintext: string, kid: string): string
  open(stored: string, kid: string): string
}

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX)
}

export function createKeyEncryption(secret: string | undefined): KeyEncryption {
  if (secret === undefined) {
    return {
      enabled: false,
      seal: (plaintext) => plaintext,
      open: (stored) => {
        if (isSealed(stored)) {
          throw new KeyEncryptionError(`the signing keys in the store are encrypted: set ${VARIABLE} to the key they were encrypted with`)
        }
        return stored
      },
    }
  }
  if (secret.length < 32 && !/^[0-9a-fA-F]{64}$/.test(secret)) {
    throw new KeyEncryptionError(`${VARIABLE} must be 64 hex digits or a passphrase of at least 32 characters`)
  }
  const key = /^[0-9a-fA-F]{64}$/.test(secret) ? Buffer.from(secret, 'hex') : scryptSync(secret, 'bizauth key encryption v1', 32)
  return {
    enabled: true,
    seal(plaintext, kid) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(kid))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${ciphertext.toString('base64url')}`
    },
    open(stored, kid) {
      // Keys written before encryption was turned on are still readable; they are re-sealed on rotation.
      if (!isSealed(stored)) return stored
      const [iv, tag, ciphertext] = stored.slice(PREFIX.length).split('.')
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'))
        decipher.setAAD(Buffer.from(kid))
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]).toString('utf8')
      } catch {
        throw new KeyEncryptionError(`cannot decrypt signing key ${kid}: ${VARIABLE} is not the key it was encrypted with`)
      }
    },
  }
}
