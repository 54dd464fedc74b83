/**
 * The rules of the audit chain (issue 11 §1), in one place for the writer (audit.ts) and the
 * verifier (`bizauth audit verify`):
 * - an event's canonical JSON is its published form without `hash`, keys sorted at every level;
 * - its `hash` is HMAC-SHA-256 under BIZAUTH_AUDIT_KEY of that JSON (which holds `prev_hash`),
 *   or plain SHA-256 without a key;
 * - seqs run 1, 2, 3… without a gap, each `prev_hash` being the previous event's `hash`, the
 *   first one's the genesis hash (or, after pruning, the checkpoint's).
 *
 * Without the key the chain still shows an accidental or careless change, but anyone who can
 * write to the database can rebuild it; with the key they cannot, short of stealing it.
 */
import { createHash, createHmac } from 'node:crypto'
import type { AuditChainState, AuditEvent, AuditSeal, Store } from './store.js'

/** The `prev_hash` of the first event ever appended. */
export const GENESIS_HASH = '0'.repeat(64)

export function createAuditSeal(key: string | undefined): AuditSeal {
  if (key === undefined || key === '') {
    return { algorithm: 'sha256', hash: (json) => createHash('sha256').update(json, 'utf8').digest('hex') }
  }
  return { algorithm: 'hmac-sha256', hash: (json) => createHmac('sha256', key).update(json, 'utf8').digest('hex') }
}

/** JSON with object keys sorted at every level: the same event always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`
  }
  return JSON.stringify(value ?? null)
}

/** What the hash covers: every published field but the hash itself. */
export function sealedText(event: Omit<AuditEvent, 'hash'>): string {
  const { seq, time, actor, source, action, target, changes, prev_hash } = event
  return canonicalJson({ seq, time, actor: { type: actor.type, id: actor.id }, source, action, target, changes, prev_hash })
}

export type ChainVerdict =
  | { ok: true; events: number; headSeq: number; headHash: string; checkpointSeq: number }
  | { ok: false; seq: number; reason: string }

/** Pages read while walking; bounds memory whatever the trail's length. */
const VERIFY_PAGE = 1000

/**
 * Walks the chain from the checkpoint to the head. The first seq that breaks a rule is named:
 * an event modified (its hash), deleted (a missing seq), reordered or inserted (a prev_hash or
 * seq out of place), or the chain cut short (`expectHead` never reached, or the head row past
 * the last event).
 */
export async function verifyAuditChain(store: Pick<Store, 'listAuditEvents' | 'auditChainState'>, seal: AuditSeal, expectHead?: string): Promise<ChainVerdict> {
  const state: AuditChainState = await store.auditChainState()
  let expectedSeq = state.checkpointSeq + 1
  let prevHash = state.checkpointHash
  let events = 0
  let reachedExpectedHead = expectHead === undefined || expectHead === state.checkpointHash
  for (let after: number | undefined = state.checkpointSeq; after !== undefined; ) {
    const page = await store.listAuditEvents({ after, limit: VERIFY_PAGE })
    for (const event of page.events) {
      if (event.seq !== expectedSeq) {
        return { ok: false, seq: Math.min(event.seq, expectedSeq), reason: event.seq > expectedSeq ? `seq ${expectedSeq} is missing` : `seq ${event.seq} is out of place` }
      }
      if (event.prev_hash !== prevHash) return { ok: false, seq: event.seq, reason: 'its prev_hash is not the previous event\'s hash' }
      if (seal.hash(sealedText(event)) !== event.hash) return { ok: false, seq: event.seq, reason: 'its hash does not match its content' }
      if (event.hash === expectHead) reachedExpectedHead = true
      prevHash = event.hash
      expectedSeq += 1
      events += 1
    }
    after = page.next
  }
  const lastSeq = expectedSeq - 1
  if (!reachedExpectedHead) return { ok: false, seq: expectedSeq, reason: `the chain ends at seq ${lastSeq} before the expected head` }
  if (state.headSeq !== lastSeq || state.headHash !== prevHash) {
    return { ok: false, seq: Math.min(state.headSeq, lastSeq) + 1, reason: `the chain ends at seq ${lastSeq} but its head is seq ${state.headSeq}` }
  }
  return { ok: true, events, headSeq: lastSeq, headHash: prevHash, checkpointSeq: state.checkpointSeq }
}
