/**
 * `expired` is written in Korea Standard Time (UTC+09:00, no daylight saving) as
 * yyyyMMddHHmmss, whatever the process's TZ is (contract.md §1, §4). Pure arithmetic on UTC
 * fields, so TZ never enters.
 */
const KST_OFFSET_SECONDS = 9 * 3600

export function formatKst(epochSeconds: number): string {
  const d = new Date((epochSeconds + KST_OFFSET_SECONDS) * 1000)
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0')
  return (
    pad(d.getUTCFullYear(), 4) +
    pad(d.getUTCMonth() + 1) +
    pad(d.getUTCDate()) +
    pad(d.getUTCHours()) +
    pad(d.getUTCMinutes()) +
    pad(d.getUTCSeconds())
  )
}
