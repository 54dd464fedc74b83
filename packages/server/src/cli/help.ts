/**
 * `--help` text, generated from the command objects (and, for `serve`, from the settings table
 * in config.ts), so a flag cannot exist without being documented.
 */
import type { Command, OptionSpec } from './command.js'

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' }

export async function renderHelp(command: Command, commandPath: string): Promise<string> {
  const lines: string[] = []
  const positionals = (command.positionals ?? []).map((p) => p.name).join(' ')
  if (command.subCommands) {
    lines.push(`Usage: ${commandPath} <command> [options]`, '', command.description ?? command.summary, '', 'Commands:')
    const entries = await Promise.all(Object.entries(command.subCommands).map(async ([name, load]) => [name, (await load()).summary] as const))
    const width = Math.max(...entries.map(([name]) => name.length))
    for (const [name, summary] of entries) lines.push(`  ${name.padEnd(width)}  ${summary}`)
    lines.push('', `Run "${commandPath} <command> --help" for the options of a command.`)
  } else {
    lines.push(`Usage: ${commandPath}${positionals ? ` ${positionals}` : ''} [options]`, '', command.description ?? command.summary)
    if (command.positionals?.length) {
      lines.push('', 'Arguments:')
      const width = Math.max(...command.positionals.map((p) => p.name.length))
      for (const p of command.positionals) lines.push(`  ${p.name.padEnd(width)}  ${p.description}`)
    }
    lines.push('', 'Options:')
    for (const [name, spec] of [...Object.entries(command.options ?? {}), ['help', HELP_OPTION] as const]) {
      lines.push(...renderOption(name, spec))
    }
  }
  if (command.notes?.length) lines.push('', ...command.notes)
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((example) => `  ${example}`))
  return `${lines.join('\n')}\n`
}

function renderOption(name: string, spec: OptionSpec): string[] {
  const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`
  const lines = [`  ${flag}`, `      ${spec.description}${spec.multiple ? ' May be repeated.' : ''}`]
  const facts: string[] = []
  if (spec.env) facts.push(`env ${spec.env}`)
  if (spec.defaultText !== undefined) facts.push(`default: ${spec.defaultText}`)
  if (facts.length) lines.push(`      (${facts.join('; ')})`)
  return lines
}
