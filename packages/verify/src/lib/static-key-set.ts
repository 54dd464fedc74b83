import { importJwk, importKeyInput, type KeyInput, type PublicJwk, type VerificationKey } from './verification-key.js'

/** The `keys` option: a JWKS object, one key, or an array of keys. */
export type KeysOption = { keys: PublicJwk[] } | KeyInput | readonly KeyInput[]

/** The keys that may have signed a token with a given `kid`; the caller then checks `alg`. */
export interface KeySet {
  candidatesFor(kid: string | undefined): readonly VerificationKey[] | Promise<readonly VerificationKey[]>
}

/** Keys given in the options, for verifiers that work without a network. */
export class StaticKeySet implements KeySet {
  private readonly byKid = new Map<string, readonly VerificationKey[]>()
  private readonly withoutKid: readonly VerificationKey[]

  constructor(option: KeysOption) {
    const imported = importAll(option)
    if (imported.length === 0) throw new TypeError('`keys` holds no key')
    for (const key of imported) {
      if (key.kid !== undefined) this.byKid.set(key.kid, [...(this.byKid.get(key.kid) ?? []), key])
    }
    this.withoutKid = imported.filter((key) => key.kid === undefined)
  }

  candidatesFor(kid: string | undefined): readonly VerificationKey[] {
    return (kid === undefined ? undefined : this.byKid.get(kid)) ?? this.withoutKid
  }
}

function importAll(option: KeysOption): VerificationKey[] {
  if (Array.isArray(option)) return option.map((input: KeyInput) => importKeyInput(input))
  if (typeof option === 'object' && option !== null && 'keys' in option && Array.isArray(option.keys)) {
    // A JWKS document given offline is still what a server publishes: no secrets from it.
    return option.keys.map((jwk) => importJwk(jwk, false))
  }
  return [importKeyInput(option as KeyInput)]
}
