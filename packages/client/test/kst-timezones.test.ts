import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const kstTests = fileURLToPath(new URL('./kst.test.js', import.meta.url))
const responseTests = fileURLToPath(new URL('./token-response.test.js', import.meta.url))
const kstModule = new URL('../src/kst.js', import.meta.url).href

/** The environment for a child in `zone`. NODE_TEST_CONTEXT would make a nested `node --test` report to us instead of printing. */
function envFor(zone: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: zone }
  delete env.NODE_TEST_CONTEXT
  return env
}

// contract.md §5: clients "parse it in the machine's local timezone and go wrong in UTC containers".
for (const zone of ['UTC', 'America/Los_Angeles', 'Asia/Seoul']) {
  test(`TZ=${zone}: the KST tests pass in a child process`, () => {
    const child = spawnSync(process.execPath, ['--test', '--test-reporter=tap', kstTests, responseTests], { env: envFor(zone), encoding: 'utf8' })
    assert.equal(child.status, 0, child.stdout + child.stderr)
    assert.match(child.stdout, /# fail 0/)
    assert.match(child.stdout, /# pass [1-9]/)
  })

  test(`TZ=${zone}: the child really runs in that zone and still reads KST`, () => {
    const script = `
      const { parseKstTimestamp } = await import(${JSON.stringify(kstModule)})
      console.log(JSON.stringify({ offset: new Date(2024, 6, 1).getTimezoneOffset(), instant: parseKstTimestamp('20240701090000') }))`
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: envFor(zone), encoding: 'utf8' })
    assert.equal(child.status, 0, child.stderr)
    const { offset, instant } = JSON.parse(child.stdout) as { offset: number; instant: number }
    assert.equal(offset, { UTC: 0, 'America/Los_Angeles': 420, 'Asia/Seoul': -540 }[zone])
    assert.equal(instant, Date.UTC(2024, 6, 1, 0, 0, 0))
  })
}
