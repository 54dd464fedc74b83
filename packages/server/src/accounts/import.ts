/**
 * Bulk import and export of accounts as JSON lines (issue 12 §1):
 *
 *   {"id": "acme", "allowed_ips": ["203.0.113.7"], "roles": [], "status": "active", "password_hash": "$2y$…"}
 *
 * An import runs in ONE store transaction, so nothing is ever half-imported: a line that fails
 * with `onError: 'stop'`, or any store error, rolls everything back; a dry run is the same
 * import rolled back at the end, so it finds exactly what a real run would (conflicts with
 * existing accounts included) and writes nothing. Lines are read one at a time and written in
 * batches of IMPORT_BATCH_SIZE, so memory stays flat whatever the file's size. On SQLite the
 * transaction holds the write lock until it ends: other writers wait meanwhile.
 *
 * Each line is checked with the administration service's own rules (id, allowed IPs, roles) and
 * its hash with password-hashes.ts; the password itself is unknown, so the password policy
 * cannot apply. The first successful check rehashes to argon2id (authenticate.ts).
 */
import { createHash, type Hash } from 'node:crypto'
import { parsePasswordHash, UnsupportedHashError } from './password-hashes.js'
import { AccountInputError, canonicalAllowedIp, validAccountId, validRole } from './administration.js'
import { IMPORT_BATCH_SIZE } from '../store/accounts.js'
import type { Account, AccountStatus, ImportedAccount, Store, StoreTransaction } from '../store/store.js'

export type ImportErrorMode = 'stop' | 'skip'
export type ImportConflictMode = 'error' | 'skip' | 'update'

export interface ImportOptions {
  /** A bad line (or, with onConflict 'error', an existing id) stops the import with nothing written, or is skipped. */
  onError: ImportErrorMode
  onConflict: ImportConflictMode
  dryRun: boolean
  /** Told of every line skipped (onError 'skip'), as it happens: the report keeps only counts. */
  onProblem?: (problem: ImportProblem) => void
  /** Told after every batch, with the lines read so far. */
  onProgress?: (linesRead: number) => void
  /**
   * Records the import in its own transaction (the audit trail), with the report and the
   * SHA-256 of the ids it created or updated, in file order. Not called for a dry run.
   */
  record?: (tx: StoreTransaction, report: ImportReport, idsSha256: string) => Promise<void>
}

export interface ImportProblem {
  line: number
  message: string
}

export interface ImportReport {
  lines: number
  created: number
  updated: number
  /** Existing ids left as they were (onConflict 'skip'). */
  unchanged: number
  /** Lines refused and skipped (onError 'skip'). */
  skipped: number
  dryRun: boolean
}

/** A line that stopped the import (onError 'stop'): nothing was written. */
export class ImportStoppedError extends Error {
  override readonly name = 'ImportStoppedError'
  constructor(
    readonly problem: ImportProblem,
    readonly linesRead: number,
  ) {
    super(`line ${problem.line}: ${problem.message}`)
  }
}

/** Thrown inside the transaction to roll a dry run back; carries its report out. */
class DryRunFinished extends Error {
  constructor(readonly report: ImportReport) {
    super('dry run finished')
  }
}

const LINE_FIELDS = new Set(['id', 'allowed_ips', 'roles', 'status', 'password_hash'])
const STATUSES: readonly AccountStatus[] = ['active', 'suspended']

/** A line that cannot be imported; the message names the field and never quotes a hash. */
class LineError extends Error {}

export async function importAccounts(store: Store, lines: AsyncIterable<string>, options: ImportOptions): Promise<ImportReport> {
  try {
    return await store.transaction(async (tx) => {
      const ids = createHash('sha256')
      const report = await importInto(tx, lines, options, ids)
      if (options.dryRun) throw new DryRunFinished(report)
      await options.record?.(tx, report, ids.digest('hex'))
      return report
    })
  } catch (error) {
    if (error instanceof DryRunFinished) return error.report
    throw error
  }
}

async function importInto(tx: StoreTransaction, lines: AsyncIterable<string>, options: ImportOptions, ids: Hash): Promise<ImportReport> {
  const report: ImportReport = { lines: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, dryRun: options.dryRun }
  const parser = new LineParser()
  // Each batch holds distinct ids, with the line each came from; a repeat within the file is
  // found here (same batch) or by the store (an earlier batch, already written in this transaction).
  let batch = new Map<string, { account: ImportedAccount; line: number }>()

  const refuse = (problem: ImportProblem): void => {
    if (options.onError === 'stop') throw new ImportStoppedError(problem, report.lines)
    report.skipped++
    options.onProblem?.(problem)
  }

  const flush = async (): Promise<void> => {
    const entries = [...batch.values()]
    batch = new Map()
    const written = await tx.importAccounts(
      entries.map((entry) => entry.account),
      options.onConflict === 'update' ? 'replace' : 'keep',
    )
    report.created += written.created.length
    report.updated += written.updated.length
    for (const id of [...written.created, ...written.updated]) ids.update(id).update('\n')
    if (options.onConflict === 'skip') report.unchanged += written.existing.length
    else if (written.existing.length > 0) {
      const lineOf = new Map(entries.map((entry) => [entry.account.id, entry.line]))
      for (const id of written.existing) refuse({ line: lineOf.get(id)!, message: existsMessage(id) })
    }
    options.onProgress?.(report.lines)
  }

  for await (const text of lines) {
    const lineNumber = ++report.lines
    if (text.trim() === '') continue
    let account: ImportedAccount
    try {
      account = parser.parse(text)
    } catch (error) {
      if (!(error instanceof LineError)) throw error
      refuse({ line: lineNumber, message: error.message })
      continue
    }
    if (batch.has(account.id)) {
      // The later line is the repeat: with 'update' it wins, as it would against a stored account.
      if (options.onConflict === 'update') batch.set(account.id, { account, line: lineNumber })
      else if (options.onConflict === 'skip') report.unchanged++
      else refuse({ line: lineNumber, message: `${existsMessage(account.id)} (an earlier line of the file)` })
      continue
    }
    batch.set(account.id, { account, line: lineNumber })
    if (batch.size >= IMPORT_BATCH_SIZE) await flush()
  }
  await flush()
  return report
}

function existsMessage(id: string): string {
  return `account "${id}" already exists (--on-conflict skip or update to import over it)`
}

/** One JSON line to an account, with the administration service's rules. */
class LineParser {
  /** The last hash that parsed: an import of many accounts sharing one hash checks it once. */
  #lastValidHash: string | undefined

  parse(text: string): ImportedAccount {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new LineError('not a JSON object')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new LineError('not a JSON object')
    const line = value as Record<string, unknown>
    for (const key of Object.keys(line)) if (!LINE_FIELDS.has(key)) throw new LineError(`unknown field "${key.slice(0, 40)}" (the fields are ${[...LINE_FIELDS].join(', ')})`)
    try {
      return {
        id: validAccountId(stringField(line, 'id')),
        allowedIps: this.#allowedIps(stringList(line, 'allowed_ips', true)),
        roles: [...new Set(stringList(line, 'roles', false).map(validRole))],
        status: statusField(line),
        passwordHash: this.#hash(line),
      }
    } catch (error) {
      if (error instanceof AccountInputError) throw new LineError(`${error.field}: ${error.message}`)
      throw error
    }
  }

  /** The last list that parsed, by its text: imports often give many accounts the same addresses. */
  #lastAllowedIps: { key: string; canonical: string[] } | undefined

  #allowedIps(texts: readonly string[]): string[] {
    const key = JSON.stringify(texts)
    if (this.#lastAllowedIps?.key === key) return [...this.#lastAllowedIps.canonical]
    const canonical = [...new Set(texts.map(canonicalAllowedIp))]
    this.#lastAllowedIps = { key, canonical }
    return [...canonical]
  }

  #hash(line: Record<string, unknown>): string {
    const hash = stringField(line, 'password_hash')
    if (hash === this.#lastValidHash) return hash
    try {
      parsePasswordHash(hash)
    } catch (error) {
      if (error instanceof UnsupportedHashError) throw new LineError(`password_hash: ${error.message}`)
      throw error
    }
    this.#lastValidHash = hash
    return hash
  }
}

function stringField(line: Record<string, unknown>, name: string): string {
  const value = line[name]
  if (typeof value !== 'string') throw new LineError(`${name}: ${value === undefined ? 'missing' : 'must be a string'}`)
  return value
}

function stringList(line: Record<string, unknown>, name: string, required: boolean): string[] {
  const value = line[name]
  if (value === undefined && !required) return []
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new LineError(`${name}: ${value === undefined ? 'missing' : 'must be an array of strings'}`)
  }
  return value as string[]
}

function statusField(line: Record<string, unknown>): AccountStatus {
  const value = line.status
  if (value === undefined) return 'active'
  const status = STATUSES.find((known) => known === value)
  if (!status) throw new LineError(`status: must be one of ${STATUSES.join(', ')}`)
  return status
}

/** One exported line. The hash only when asked for: it is a secret, if a slow one to attack. */
export interface ExportedAccount {
  id: string
  allowed_ips: string[]
  roles: string[]
  status: AccountStatus
  password_hash?: string
}

/** Accounts read per page by the export: memory stays flat however many there are. */
export const EXPORT_PAGE_SIZE = 1000

/** Every account in id order, a page at a time (not a snapshot: a change meanwhile may or may not show). */
export async function* exportAccounts(store: Store, options: { includeHashes: boolean }): AsyncGenerator<ExportedAccount> {
  let after: string | undefined
  for (;;) {
    const page: Account[] = await store.listAccounts({ ...(after === undefined ? {} : { after }), limit: EXPORT_PAGE_SIZE })
    for (const account of page) {
      yield {
        id: account.id,
        allowed_ips: account.allowedIps,
        roles: account.roles,
        status: account.status,
        ...(options.includeHashes ? { password_hash: account.passwordHash } : {}),
      }
    }
    if (page.length < EXPORT_PAGE_SIZE) return
    after = page[page.length - 1]!.id
  }
}
