import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { formatKstTimestamp, parseKstTimestamp } from '../src/kst.js'

// These run in this process and again, through kst-timezones.test.ts, under TZ=UTC and
// TZ=America/Los_Angeles: the answers must not move with the machine's zone.

test('expired is KST (UTC+09:00) whatever TZ is', () => {
  // 2020-11-10 18:55:20 KST is 09:55:20 UTC (the contract's sample).
  assert.equal(parseKstTimestamp('20201110185520'), Date.UTC(2020, 10, 10, 9, 55, 20))
  // Across the day line and a year boundary: 2025-01-01 05:00 KST is 2024-12-31 20:00 UTC.
  assert.equal(parseKstTimestamp('20250101050000'), Date.UTC(2024, 11, 31, 20, 0, 0))
  // A Los Angeles daylight-saving switch day changes nothing.
  assert.equal(parseKstTimestamp('20240310020000'), Date.UTC(2024, 2, 9, 17, 0, 0))
  assert.equal(formatKstTimestamp(Date.UTC(2020, 10, 10, 9, 55, 20, 999)), '20201110185520')
  assert.equal(formatKstTimestamp(Date.UTC(2024, 11, 31, 20, 0, 0)), '20250101050000')
})

test('leap days are real dates; impossible dates are rejected', () => {
  assert.equal(parseKstTimestamp('20240229090000'), Date.UTC(2024, 1, 29, 0, 0, 0))
  assert.equal(parseKstTimestamp('20000229000000'), Date.UTC(2000, 1, 28, 15, 0, 0))
  for (const text of ['20230229000000', '19000229000000', '20201301000000', '20201100000000', '20201131000000',
    '20201110240000', '20201110236000', '20201110235960', '2020111018552', '202011101855200', '2020-11-10 18:55',
    '', ' 20201110185520', '20201110185520\n', '２０２０１１１０１８５５２０']) {
    assert.equal(parseKstTimestamp(text), undefined, JSON.stringify(text))
  }
})

test('property: formatting then parsing any instant of years 0000-9999 gives back the second', () => {
  const lowest = parseKstTimestamp('00000101000000')!
  const highest = parseKstTimestamp('99991231235959')!
  fc.assert(
    fc.property(fc.integer({ min: lowest, max: highest }), (epochMs) => {
      const text = formatKstTimestamp(epochMs)
      assert.match(text, /^\d{14}$/)
      assert.equal(parseKstTimestamp(text), Math.floor(epochMs / 1000) * 1000)
    }),
    { numRuns: 2000 },
  )
})

test('property: parsing any valid 14-digit date and formatting it gives back the text', () => {
  const field = (min: number, max: number, width: number) => fc.integer({ min, max }).map((value) => String(value).padStart(width, '0'))
  fc.assert(
    fc.property(field(0, 9999, 4), field(1, 12, 2), field(1, 28, 2), field(0, 23, 2), field(0, 59, 2), field(0, 59, 2), (...parts) => {
      const text = parts.join('')
      const instant = parseKstTimestamp(text)
      assert.notEqual(instant, undefined)
      assert.equal(formatKstTimestamp(instant!), text)
    }),
    { numRuns: 2000 },
  )
})

test('agrees with an ISO 8601 +09:00 reading for dates Date.parse understands', () => {
  fc.assert(
    fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true }), (date) => {
      const text = formatKstTimestamp(date.getTime())
      const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}T${text.slice(8, 10)}:${text.slice(10, 12)}:${text.slice(12, 14)}+09:00`
      assert.equal(parseKstTimestamp(text), Date.parse(iso))
    }),
  )
})
