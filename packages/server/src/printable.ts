/**
 * Keeps untrusted text that is echoed in a message printable and short: any character outside
 * printable ASCII becomes `?`, and more than `max` characters end in `...`.
 */
export function printable(text: string, max = 64): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean
}
