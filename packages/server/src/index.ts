/** @bizauth/server: the programmatic entry. The `bizauth` CLI is built on the same pieces. */
export { buildApp } from './app.js'
export { startServer, createLogger, type RunningServer, type StartOptions } from './main.js'
export { createServices, type Services } from './services.js'
export {
  defineServerConfig,
  resolveServerConfig,
  DEFAULTS,
  SETTINGS,
  SETTING_LIST,
  SERVE_SETTINGS,
  type ServerConfig,
  type ServerConfigOverrides,
  type Setting,
  type SettingName,
} from './config.js'
export { openStore } from './store/open.js'
export type { Store, Account } from './store/store.js'
export { CODE_TABLE, ContractError, type ContractCode } from './errors.js'
export { formatKst } from './tokens/kst.js'
