/**
 * What the audit-trail tests expect of `bizauth audit list --json`, whoever made the changes
 * (the CLI in audit-trail.test.ts, the admin API in admin-audit.test.ts): each change exactly
 * once and in order, attributed, with its changes, and no secret anywhere in the text.
 */
import assert from 'node:assert/strict'
import type { AuditActor, AuditEvent } from '../../src/store/store.js'
import { runCli, type CliResult } from './cli.js'
import { FAST_ARGON2_ENV } from './server-process.js'

/** One expected event: its action, its target and the changes it must report (others may be there too). */
export type ExpectedEvent = [action: string, target: string, changes?: Record<string, [unknown, unknown]>]

/** How the CLI reaches a store: its flags and environment. */
export interface CliStore {
  cliArgs: string[]
  cliEnv: Record<string, string>
}

export async function succeeded(result: Promise<CliResult>): Promise<string> {
  const { code, stdout, stderr } = await result
  assert.equal(code, 0, `exit code; stderr: ${stderr}`)
  return stdout
}

export function auditCli(store: CliStore, args: string[], options: { auditKey?: string; input?: string } = {}): Promise<CliResult> {
  return runCli([...args, ...store.cliArgs], {
    env: { ...FAST_ARGON2_ENV, ...store.cliEnv, ...(options.auditKey === undefined ? {} : { BIZAUTH_AUDIT_KEY: options.auditKey }) },
    ...(options.input === undefined ? {} : { input: options.input }),
  })
}

/** `bizauth audit list --json` as a child process: its lines, parsed, and its raw text. */
export async function listedAuditEvents(store: CliStore, filters: string[] = []): Promise<{ events: AuditEvent[]; text: string }> {
  const text = (await succeeded(auditCli(store, ['audit', 'list', '--json', '--limit', '1000', ...filters]))).trimEnd()
  return { events: text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as AuditEvent), text }
}

/** Every event is one of `expected`, in order, from seq 1 without a gap, by `actor` from `source`. */
export function assertEachChangeOnce(events: AuditEvent[], expected: ExpectedEvent[], actor: AuditActor, source: string): void {
  assert.deepEqual(
    events.map((event) => [event.action, event.target]),
    expected.map(([action, target]) => [action, target]),
    'each change once, in order',
  )
  assert.deepEqual(events.map((event) => event.seq), expected.map((_, index) => index + 1), 'seq from 1 without a gap')
  for (const [index, [action, , changes]] of expected.entries()) {
    const event = events[index]!
    assert.deepEqual(event.actor, actor, `${action}: the actor`)
    assert.equal(event.source, source, `${action}: the source`)
    assert.match(event.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
    for (const [field, value] of Object.entries(changes ?? {})) assert.deepEqual(event.changes[field], value, `${action}: ${field}`)
  }
}

/** No password, hash, token or key material in the trail's text. */
export function assertNoSecrets(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!text.includes(secret), 'no password, hash, token or key material in any event')
  assert.ok(!text.includes('$argon2'), 'no argon2 hash of any kind')
}
