/**
 * Temporary directories for tests: made under the OS temp dir, removed when the test ends.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TempDir {
  readonly path: string
  remove(): Promise<void>
}

export async function makeTempDir(prefix = 'bizauth-test-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return {
    path,
    remove: () => rm(path, { recursive: true, force: true }),
  }
}

/** A temp dir removed by the test's own `after` hook (`t.after` in a test, or a suite's `after`). */
export async function useTempDir(t: { after(fn: () => Promise<void>): void }, prefix?: string): Promise<string> {
  const dir = await makeTempDir(prefix)
  t.after(() => dir.remove())
  return dir.path
}
