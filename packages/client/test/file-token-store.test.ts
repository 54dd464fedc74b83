import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BizauthError } from '../src/errors.js'
import { FileTokenStore } from '../src/file-token-store.js'
import type { StoredToken } from '../src/token-store.js'
import { issueToken, startFakeTokenService, type FakeTokenService } from './support/fake-token-service.js'

const directories: string[] = []
let service: FakeTokenService | undefined

afterEach(async () => {
  await service?.close()
  service = undefined
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true })
})

function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'bizauth-client-'))
  directories.push(directory)
  return directory
}

const record = (accessToken: string): StoredToken => ({ accessToken, type: 'Bearer', expired: '20991231235959', expiresAtMs: 4_102_444_799_000, receivedAtMs: 1 })

test('writes atomically with mode 0600, keeps records apart by key, and leaves no temporary file', async () => {
  const directory = temporaryDirectory()
  const path = join(directory, 'nested', 'tokens.json')
  const store = new FileTokenStore(path)
  assert.equal(await store.get('production'), undefined)
  await store.withLock('production', () => store.set('production', record('token-a')))
  await store.withLock('staging', () => store.set('staging', record('token-b')))
  assert.equal((statSync(path).mode & 0o777).toString(8), '600')
  assert.equal((await store.get('production'))?.accessToken, 'token-a')
  assert.equal((await store.get('staging'))?.accessToken, 'token-b')
  await store.withLock('staging', () => store.delete('staging'))
  assert.equal(await store.get('staging'), undefined)
  assert.equal((await new FileTokenStore(path).get('production'))?.accessToken, 'token-a', 'another instance reads the same file')
  assert.deepEqual(readdirSync(join(directory, 'nested')), ['tokens.json'], 'no .tmp or .lock left behind')
})

test('a damaged file reads as empty and is replaced on the next write', async () => {
  const path = join(temporaryDirectory(), 'tokens.json')
  writeFileSync(path, '{"records": {"k": ')
  const store = new FileTokenStore(path)
  assert.equal(await store.get('k'), undefined)
  await store.withLock('k', () => store.set('k', record('fresh')))
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).records.k.accessToken, 'fresh')
})

test('the lock serializes critical sections of separate instances', async () => {
  const path = join(temporaryDirectory(), 'tokens.json')
  const events: string[] = []
  const section = (store: FileTokenStore, name: string) => store.withLock('k', async () => {
    events.push(`${name}:in`)
    await new Promise((resolve) => setImmediate(resolve))
    events.push(`${name}:out`)
  })
  await Promise.all([section(new FileTokenStore(path), 'a'), section(new FileTokenStore(path), 'b'), section(new FileTokenStore(path), 'c')])
  for (let index = 0; index < events.length; index += 2) {
    assert.equal(events[index]!.split(':')[0], events[index + 1]!.split(':')[0], events.join(' '))
  }
})

test('a lock left by a dead process is taken over', async () => {
  const path = join(temporaryDirectory(), 'tokens.json')
  const deadPid = await pidOfFinishedProcess()
  writeFileSync(`${path}.lock`, JSON.stringify({ pid: deadPid, nonce: 'left-behind' }))
  const store = new FileTokenStore(path, { lockTimeoutMs: 5_000 })
  assert.equal(await store.withLock('k', async () => 'entered'), 'entered')
})

test('a lock untouched for longer than staleLockMs is taken over even if its pid lives', async () => {
  const path = join(temporaryDirectory(), 'tokens.json')
  writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, nonce: 'stuck' }))
  const longAgo = new Date(Date.now() - 60_000)
  utimesSync(`${path}.lock`, longAgo, longAgo)
  const store = new FileTokenStore(path, { staleLockMs: 30_000, lockTimeoutMs: 5_000 })
  assert.equal(await store.withLock('k', async () => 'entered'), 'entered')
})

test('a live, fresh lock is waited for, and a bounded wait ends in TIMEOUT', async () => {
  const path = join(temporaryDirectory(), 'tokens.json')
  writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, nonce: 'held-by-someone' }))
  const store = new FileTokenStore(path, { lockTimeoutMs: 100 })
  let entered = false
  await assert.rejects(store.withLock('k', async () => { entered = true }), (error: unknown) => {
    assert.ok(error instanceof BizauthError)
    assert.equal(error.code, 'TIMEOUT')
    return true
  })
  assert.equal(entered, false)
  assert.equal(JSON.parse(readFileSync(`${path}.lock`, 'utf8')).nonce, 'held-by-someone', 'the holder\'s lock is left alone')
})

test('two processes sharing one FileTokenStore make 1 token request between them', async () => {
  // The service answers slowly, so the second process asks while the first holds the lock.
  service = await startFakeTokenService(issueToken({ delayMs: 300 }))
  const path = join(temporaryDirectory(), 'tokens.json')
  const child = fileURLToPath(new URL('./support/share-token-child.js', import.meta.url))
  const processes = [0, 1].map(() => spawn(process.execPath, [child, service!.url, path], { stdio: ['pipe', 'pipe', 'inherit'] }))
  const outputs = processes.map((childProcess) => collectLines(childProcess))
  await Promise.all(outputs.map((lines) => lines.waitFor((all) => all.includes('ready'))))
  for (const childProcess of processes) childProcess.stdin!.write('go\n')
  const exits = await Promise.all(processes.map((childProcess) => new Promise<number | null>((resolve) => childProcess.on('close', resolve))))
  assert.deepEqual(exits, [0, 0])
  const tokens = outputs.map((lines) => JSON.parse(lines.all().find((line) => line.startsWith('{'))!).accessToken as string)
  assert.equal(service.tokenRequests, 1)
  assert.equal(tokens[0], tokens[1])
  assert.equal(tokens[0], service.issuedTokens[0])
})

function collectLines(childProcess: ReturnType<typeof spawn>) {
  let text = ''
  const waiters: Array<() => void> = []
  childProcess.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk
    for (const wake of waiters.splice(0)) wake()
  })
  childProcess.on('close', () => { for (const wake of waiters.splice(0)) wake() })
  const all = (): string[] => text.split('\n').filter(Boolean)
  return {
    all,
    waitFor: (condition: (lines: string[]) => boolean): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (condition(all())) resolve()
          else if (childProcess.exitCode !== null) reject(new Error(`child exited: ${text}`))
          else waiters.push(check)
        }
        check()
      }),
  }
}

async function pidOfFinishedProcess(): Promise<number> {
  const finished = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
  await new Promise((resolve) => finished.on('close', resolve))
  return finished.pid!
}
