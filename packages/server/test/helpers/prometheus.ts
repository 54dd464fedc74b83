/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), strict enough to
 * fail on what a scraper would refuse: a malformed line, a sample of an undeclared family, a
 * bad label, a non-number, a histogram without its +Inf bucket, _sum and _count.
 */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'
  help: string
  samples: Sample[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`)
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(?:,|$)/

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  if (text === 'NaN') return NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`not a number in: ${line}`)
  return Number(text)
}

function parseLabels(text: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text ?? ''
  while (rest !== '') {
    const match = LABEL.exec(rest)
    if (!match) throw new Error(`bad labels in: ${line}`)
    if (Object.hasOwn(labels, match[1]!)) throw new Error(`repeated label in: ${line}`)
    labels[match[1]!] = match[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\')
    rest = rest.slice(match[0].length)
  }
  return labels
}

function familyOf(families: Map<string, Family>, sampleName: string): Family | undefined {
  const direct = families.get(sampleName)
  if (direct) return direct
  const base = sampleName.replace(/_(bucket|sum|count)$/, '')
  const family = families.get(base)
  return family && (family.type === 'histogram' || family.type === 'summary') ? family : undefined
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed')
  const families = new Map<string, Family>()
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const meta = new RegExp(`^# (HELP|TYPE) (${NAME}) ?(.*)$`).exec(line)
      if (!meta) continue // a plain comment
      const [, kind, name, rest] = meta as unknown as [string, string, string, string]
      const family = families.get(name) ?? { name, type: 'untyped', help: '', samples: [] }
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in: ${line}`)
        if (family.samples.length > 0) throw new Error(`TYPE after samples in: ${line}`)
        family.type = rest as Family['type']
      } else family.help = rest
      families.set(name, family)
      continue
    }
    const match = SAMPLE.exec(line)
    if (!match) throw new Error(`malformed line: ${line}`)
    const family = familyOf(families, match[1]!)
    if (!family) throw new Error(`sample of an undeclared family: ${line}`)
    family.samples.push({ name: match[1]!, labels: parseLabels(match[2], line), value: parseValue(match[3]!, line) })
  }
  for (const family of families.values()) {
    if (family.type === 'counter' && !family.name.endsWith('_total')) throw new Error(`counter ${family.name} does not end in _total`)
    if (family.type === 'histogram') {
      const names = new Set(family.samples.map((sample) => sample.name))
      for (const suffix of ['_sum', '_count']) if (!names.has(family.name + suffix)) throw new Error(`histogram ${family.name} lacks ${suffix}`)
      if (!family.samples.some((sample) => sample.name === `${family.name}_bucket` && sample.labels.le === '+Inf')) throw new Error(`histogram ${family.name} lacks its +Inf bucket`)
    }
  }
  return families
}

/** The value of one sample, or undefined; `labels` must match exactly. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = familyOf(families, name)
  const wanted = JSON.stringify(Object.entries(labels).sort())
  return family?.samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value
}
