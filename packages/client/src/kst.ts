/**
 * The contract's `expired` field: `yyyyMMddHHmmss` in Korea Standard Time, UTC+09:00, no daylight
 * saving (contract.md §1, §4). Parsed and formatted with integer arithmetic on the proleptic
 * Gregorian calendar, never with the local-time `Date` constructors, so the machine's `TZ` cannot
 * change the answer (contract.md §5: "parse it in the machine's local timezone and go wrong").
 */

const KST_OFFSET_MS = 9 * 60 * 60 * 1000
const MS_PER_DAY = 86_400_000
const EXPIRED_PATTERN = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/

/** Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const dayOfEra = z - era * 146_097
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365)
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const mp = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/**
 * The instant (milliseconds since the epoch) that a KST `yyyyMMddHHmmss` names, or undefined when
 * the text is not exactly 14 digits of a real calendar moment (month 13, February 30, hour 24…).
 */
export function parseKstTimestamp(text: string): number | undefined {
  const match = EXPIRED_PATTERN.exec(text)
  if (match === null) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const kstWallClockMs = daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000
  return kstWallClockMs - KST_OFFSET_MS
}

/** The KST `yyyyMMddHHmmss` of an instant; milliseconds are dropped. Years 0000-9999 only. */
export function formatKstTimestamp(epochMs: number): string {
  const kstMs = Math.floor(epochMs / 1000) * 1000 + KST_OFFSET_MS
  const days = Math.floor(kstMs / MS_PER_DAY)
  const secondsOfDay = (kstMs - days * MS_PER_DAY) / 1000
  const { year, month, day } = civilFromDays(days)
  if (year < 0 || year > 9999) throw new RangeError('the instant is outside the years 0000-9999')
  const pad = (value: number, width: number): string => String(value).padStart(width, '0')
  return (
    pad(year, 4) + pad(month, 2) + pad(day, 2) +
    pad(Math.floor(secondsOfDay / 3600), 2) + pad(Math.floor(secondsOfDay / 60) % 60, 2) + pad(secondsOfDay % 60, 2)
  )
}
