/**
 * Waits for a condition by polling it, with a deadline: never a fixed sleep (tests wait for
 * something to happen, not for time to pass).
 */
import { setTimeout as delay } from 'node:timers/promises'

export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`)
    await delay(options.intervalMs ?? 25)
  }
}
