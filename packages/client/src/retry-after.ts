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
