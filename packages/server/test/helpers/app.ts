/**
 * An in-process server for HTTP tests: a real SQLite file (or PostgreSQL), the real services
 * and app, driven through `app.inject` or a real socket. argon2id runs with small parameters
 * so suites stay quick; the parameters themselves are tested where they matter.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { PasswordHasher } from '../../src/accounts/passwords.js'
import { defineServerConfig, type ServerConfig } from '../../src/config.js'
import { createServices, type Services } from '../../src/services.js'
import { openStore } from '../../src/store/open.js'
import type { Account, AccountRole, Store } from '../../src/store/store.js'
import { makeTempDir } from './tmp.js'

export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 } as const

export interface TestApp {
  app: FastifyInstance
  services: Services
  store: Store
  config: ServerConfig
  dataDir: string
  createAccount(id: string, password: string, options?: { allowIps?: string[]; roles?: AccountRole[]; suspended?: boolean }): Promise<Account>
  token(authorization: string | undefined, options?: Partial<InjectOptions>): Promise<LightMyRequestResponse>
  close(): Promise<void>
}

export function basic(account: string, password: string): string {
  return `Basic ${Buffer.from(`${account}:${password}`, 'utf8').toString('base64')}`
}

export async function startTestApp(overrides: Partial<ServerConfig> = {}, options: { databaseUrl?: string; logger?: import('pino').Logger } = {}): Promise<TestApp> {
  const dir = await makeTempDir()
  const config = defineServerConfig({ dataDir: dir.path, argon2: FAST_ARGON2, keyRefreshSeconds: 3600, ...overrides, databaseUrl: options.databaseUrl })
  const store = await openStore(config)
  await store.migrate()
  const services = await createServices(config, store)
  const app = await buildApp(services, options.logger ? { logger: options.logger } : {})
  await app.ready()
  const hasher = new PasswordHasher(config.argon2)
  return {
    app,
    services,
    store,
    config,
    dataDir: dir.path,
    async createAccount(id, password, accountOptions = {}) {
      return store.createAccount({
        id,
        passwordHash: await hasher.hash(password),
        allowedIps: accountOptions.allowIps ?? ['127.0.0.1/32'],
        roles: accountOptions.roles ?? [],
        status: accountOptions.suspended ? 'suspended' : 'active',
      })
    },
    token(authorization, injectOptions = {}) {
      const headers: Record<string, string> = { ...(injectOptions.headers as Record<string, string> | undefined) }
      if (authorization !== undefined) headers.authorization = authorization
      return app.inject({ method: 'POST', url: '/v1/token', ...injectOptions, headers })
    },
    async close() {
      await app.close()
      await services.stop()
      await store.close()
      await dir.remove()
    },
  }
}

export function decodeJwtPart(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>
}

/** yyyyMMddHHmmss of an epoch-seconds instant in UTC+9, computed independently of the server's code. */
export function kstOf(epochSeconds: number): string {
  return new Date((epochSeconds + 9 * 3600) * 1000).toISOString().replace(/[-T:]/g, '').slice(0, 14)
}

/** What an inject or fetch answer looks like to assertions. */
export interface Answer {
  statusCode: number
  body: string
  headers: Record<string, unknown>
}

/** The contract code of an answer, or '200' for a success: what most assertions compare. */
export function answerCode(response: Pick<Answer, 'statusCode' | 'body'>): string {
  return response.statusCode === 200 ? '200' : String((JSON.parse(response.body) as { code: string }).code)
}

export const CONTRACT_CODES = ['3000', '3001', '3002', '3003', '3004', '3005', '3006', '3007', '3008', '3009', '3010', '3011', '5001', '5002', '9000']
