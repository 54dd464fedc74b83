/**
 * What a password set by an operator must be (issue 12 §3): by default at least 10 characters
 * from at least two classes of letters, digits and symbols, the common Korean guidance (KISA's
 * password guideline). `--password-min-length` and `--password-min-classes` change it.
 *
 * It applies to every password given to the administration service, whichever way in (CLI, API).
 * Generated passwords comply by construction (`generateCompliantPassword`). Imported hashes
 * cannot be checked and are accepted as they are.
 */
import { randomBytes } from 'node:crypto'

export interface PasswordPolicy {
  /** Characters (code points), not bytes: a Hangul syllable is one character. */
  readonly minLength: number
  /** Of the three classes: letters, digits, symbols (anything else, a space included). */
  readonly minClasses: number
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({ minLength: 10, minClasses: 2 })

export const PASSWORD_CLASSES = ['letters', 'digits', 'symbols'] as const
type PasswordClass = (typeof PASSWORD_CLASSES)[number]

function classOf(character: string): PasswordClass {
  if (/\p{L}/u.test(character)) return 'letters'
  if (/\p{Nd}/u.test(character)) return 'digits'
  return 'symbols'
}

/** What the password lacks, in words an operator can act on; empty when it complies. */
export function passwordShortcomings(policy: PasswordPolicy, password: string): string[] {
  const characters = Array.from(password)
  const used = new Set(characters.map(classOf))
  const shortcomings: string[] = []
  if (characters.length < policy.minLength) {
    shortcomings.push(`it has ${characters.length} characters; at least ${policy.minLength} are needed`)
  }
  if (used.size < policy.minClasses) {
    const missing = PASSWORD_CLASSES.filter((kind) => !used.has(kind))
    shortcomings.push(
      `it uses ${used.size} of the classes letters, digits and symbols; at least ${policy.minClasses} are needed (add ${missing.join(' or ')})`,
    )
  }
  return shortcomings
}

/** Characters a generated password is drawn from: base64url, which holds all three classes. */
const GENERATED_MIN_LENGTH = 24

/**
 * A strong random password that meets `policy`: 24 characters (144 bits) or the policy's
 * length, drawn until all three classes occur (about two draws on average), so it complies
 * with any policy this module allows.
 */
export function generateCompliantPassword(policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY): string {
  const length = Math.max(GENERATED_MIN_LENGTH, policy.minLength)
  for (;;) {
    const candidate = randomBytes(Math.ceil((length * 3) / 4)).toString('base64url').slice(0, length)
    if (passwordShortcomings({ minLength: length, minClasses: PASSWORD_CLASSES.length }, candidate).length === 0) return candidate
  }
}
