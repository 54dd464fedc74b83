/**
 * `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP-date. Returns milliseconds to
 * wait from `nowMs`, or undefined when the header is absent or unreadable.
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined
  const value = header.trim()
  if (/^\d+$/.test(value)) return Number(value) * 1000
  // An HTTP-date always names GMT, so Date.parse does not depend on the local time zone here.
  if (!/GMT$/.test(value)) return undefined
  const instant = Date.parse(value)
  if (Number.isNaN(instant)) return undefined
  return Math.max(0, instant - nowMs)
}

/**
 * `RateLimit-Reset` (contract.md §6): the seconds until the rate-limit window renews, possibly a
 * decimal (`0.299`). The page's table calls it milliseconds but its example reads as seconds, so
 * seconds it is: read as milliseconds, a real `0.299` would be a retry at once, into the same
 * window. Returns milliseconds (rounded up, so the retry lands after the renewal, not before), or
 * undefined when the header is absent or not a non-negative decimal number.
 */
export function parseRateLimitResetMs(header: string | null | undefined): number | undefined {
  if (header === null || header === undefined) return undefined
  const match = /^(\d{1,12})(?:\.(\d{1,20}))?$/.exec(header.trim())
  if (!match) return undefined
  // Digit by digit, not Number(value) * 1000: 131072.496 * 1000 is 131072496.00000001 in floating point.
  const fraction = (match[2] ?? '').padEnd(3, '0')
  const beyondMilliseconds = /[1-9]/.test(fraction.slice(3)) ? 1 : 0
  return Number(match[1]) * 1000 + Number(fraction.slice(0, 3)) + beyondMilliseconds
}
