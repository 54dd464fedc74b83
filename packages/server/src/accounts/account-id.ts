/** Account ids: 1–64 characters from [A-Za-z0-9._@-] (issue 2 §2). */
export const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/

export function isValidAccountId(value: string): boolean {
  return ACCOUNT_ID_PATTERN.test(value)
}
