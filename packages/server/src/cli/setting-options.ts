/**
 * A setting of the table in config.ts as a command-line option, for `--help` and the parser:
 * every command that takes a setting takes it through here, so its flag, variable, placeholder
 * and default read the same everywhere.
 */
import type { Setting } from '../config.js'
import type { OptionSpec } from './command.js'

export function settingOption(setting: Setting): OptionSpec {
  return {
    type: setting.kind === 'boolean' ? 'boolean' : 'string',
    valueName: setting.valueName ?? (setting.kind === 'integer' ? 'N' : setting.kind === 'choice' ? setting.choices!.join('|') : 'VALUE'),
    description: setting.description,
    env: setting.env,
    defaultText: defaultText(setting),
  }
}

export function defaultText(setting: Setting): string {
  if (setting.defaultText !== undefined) return setting.defaultText
  const value = setting.default
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '(none)'
  return String(value)
}

/** The options of these settings, keyed by flag. Environment-only settings have none. */
export function settingOptions(settings: readonly Setting[]): Record<string, OptionSpec> {
  return Object.fromEntries(settings.flatMap((setting) => (setting.flag === undefined ? [] : [[setting.flag, settingOption(setting)]])))
}

/** Help paragraphs for environment-only settings (they have no flag to list them under). */
export function secretNotes(settings: readonly Setting[], extra: (setting: Setting) => string = (setting) => `(default: ${defaultText(setting)})`): string[] {
  if (settings.length === 0) return []
  return ['Environment only (secrets never go through argv):', ...settings.flatMap((setting) => [`  ${setting.env}`, `      ${setting.description}`, `      ${extra(setting)}`])]
}
