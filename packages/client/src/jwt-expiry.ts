/**
 * The `exp` claim of a JWT access token, read without verifying anything. The contract says clients
 * treat the token as opaque (contract.md §1); this only looks, so that when `exp` and `expired`
 * disagree the client trusts the earlier one. A token that is not a readable JWT has no `exp`.
 */
export function readJwtExpiryMs(token: string): number | undefined {
  const parts = token.split('.')
  if (parts.length !== 3 || parts[1] === undefined) return undefined
  try {
    const claims: unknown = JSON.parse(decodeBase64Url(parts[1]))
    if (typeof claims !== 'object' || claims === null) return undefined
    const exp = (claims as { exp?: unknown }).exp
    if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0) return undefined
    return exp * 1000
  } catch {
    return undefined
  }
}

function decodeBase64Url(segment: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) throw new TypeError('not base64url')
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (segment.length % 4)) % 4)
  // atob and TextDecoder exist on Node >= 16, Deno, Bun and workers; Buffer does not.
  const binary = atob(base64)
  const bytes = Uint8Array.from(binary, (character) => character.charCodeAt(0))
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
}
