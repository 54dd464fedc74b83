/**
 * `Authorization: Basic base64(account ":" password)` as contract.md §4 fixes it: RFC 7617, UTF-8,
 * standard (not URL-safe) base64, exactly one space after `Basic`.
 */
export function basicAuthorization(account: string, password: string): string {
  const bytes = new TextEncoder().encode(`${account}:${password}`)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `Basic ${btoa(binary)}`
}
