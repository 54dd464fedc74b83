/**
 * What the keys sub-commands share: the key life-cycle dates an operator wants to see, and the
 * key encryption read from the environment (the `keyEncryptionKey` setting: never argv).
 */
import { ConfigError, DEFAULTS, SETTINGS, readSetting } from '../../../config.js'
import { KeyEncryptionError, createKeyEncryption, isSealed, type KeyEncryption } from '../../../keys/key-encryption.js'
import { loadKey } from '../../../keys/key-material.js'
import type { KeyAlgorithm, Store } from '../../../store/store.js'
import type { CommandContext } from '../../command.js'
import { CliError } from '../../errors.js'

/** The settings of `serve` this command honours, resolved the same way (flag, then env, then default). */
export function keySettings(context: CommandContext, flags: Record<string, string | undefined>): { algorithm: KeyAlgorithm | undefined; promotionDelaySeconds: number } {
  try {
    return {
      // Given nowhere: the command decides (the current key's algorithm), not the default.
      algorithm: readSetting(SETTINGS.signingAlgorithm.key, flags, context.io.env),
      promotionDelaySeconds: readSetting(SETTINGS.keyPromotionDelaySeconds.key, flags, context.io.env) ?? DEFAULTS.keyPromotionDelaySeconds,
    }
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message)
    throw error
  }
}

export const SIGNING_ALG_SPEC = SETTINGS.signingAlgorithm
export const PROMOTION_DELAY_SPEC = SETTINGS.keyPromotionDelaySeconds
const KEY_ENCRYPTION_KEY = SETTINGS.keyEncryptionKey

/**
 * The encryption the store's keys need. Refuses to add a plaintext key beside encrypted ones,
 * and proves a given key opens the stored ones before anything is written.
 */
export async function keyEncryptionFor(context: CommandContext, store: Store): Promise<KeyEncryption> {
  const secret = context.io.env[KEY_ENCRYPTION_KEY.env]
  let encryption: KeyEncryption
  try {
    encryption = createKeyEncryption(secret === '' ? undefined : secret)
  } catch (error) {
    if (error instanceof KeyEncryptionError) throw new CliError(error.message)
    throw error
  }
  const sealed = (await store.listKeys()).filter((key) => isSealed(key.privateMaterial))
  if (sealed.length > 0 && !encryption.enabled) {
    throw new CliError(`the signing keys in the store are encrypted: set ${KEY_ENCRYPTION_KEY.env} to the key they were encrypted with (nothing changed)`)
  }
  try {
    if (sealed[0]) await loadKey(sealed[0], encryption)
  } catch (error) {
    if (error instanceof KeyEncryptionError) throw new CliError(`${error.message} (nothing changed)`)
    throw error
  }
  return encryption
}
