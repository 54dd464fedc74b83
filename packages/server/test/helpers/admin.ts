/**
 * The admin listener's app beside the public one, on the same services (SQLite or PostgreSQL),
 * and a client for it that checks every answer against the route's schema in the generated
 * OpenAPI document (GET /admin/v1/openapi.json), validated once with swagger-parser.
 */
import assert from 'node:assert/strict'
import SwaggerParser from '@apidevtools/swagger-parser'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildAdminApp } from '../../src/http/admin/app.js'
import type { ServerConfig } from '../../src/config.js'
import type { AccountRole } from '../../src/store/store.js'
import { basic, startTestApp, type TestApp } from './app.js'
import { withPostgresDatabase } from './postgres.js'

export type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> }

/** Checks answers against the document: the route, method and status must be documented, the body must match. */
export class DocumentedResponses {
  readonly #routes: Array<{ template: string; pattern: RegExp }>
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true })
  readonly #validators = new Map<string, ReturnType<Ajv2020['compile']>>()
  checked = 0

  constructor(readonly document: OpenApi) {
    ;(addFormats as unknown as (ajv: Ajv2020) => void)(this.#ajv)
    this.#routes = Object.keys(document.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }))
  }

  /** Validates the document (swagger-parser) and dereferences it for checking. */
  static async load(app: FastifyInstance): Promise<DocumentedResponses> {
    const response = await app.inject({ method: 'GET', url: '/admin/v1/openapi.json' })
    assert.equal(response.statusCode, 200)
    const raw = JSON.parse(response.body) as object
    await SwaggerParser.validate(structuredClone(raw) as never)
    const dereferenced = (await SwaggerParser.dereference(structuredClone(raw) as never)) as unknown as OpenApi
    return new DocumentedResponses(dereferenced)
  }

  check(method: string, url: string, response: Pick<LightMyRequestResponse, 'statusCode' | 'body'>): void {
    const path = url.split('?')[0]!
    const route = this.#routes.find((candidate) => candidate.pattern.test(path))
    assert.ok(route, `${method} ${path} is not in the OpenAPI document`)
    const operation = this.document.paths[route.template]![method.toLowerCase()]
    assert.ok(operation, `${method} ${route.template} is not in the OpenAPI document`)
    const key = `${method} ${route.template} ${response.statusCode}`
    const documented = operation.responses[String(response.statusCode)]
    assert.ok(documented, `${key}: this status is not documented`)
    const schema = documented.content?.['application/json']?.schema
    assert.ok(schema, `${key}: no JSON schema documented`)
    let validate = this.#validators.get(key)
    if (!validate) {
      validate = this.#ajv.compile(schema)
      this.#validators.set(key, validate)
    }
    const body: unknown = JSON.parse(response.body)
    assert.ok(validate(body), `${key}: the answer does not match its schema: ${JSON.stringify(validate.errors)} in ${response.body}`)
    this.checked++
  }
}

export interface AdminTestApp extends TestApp {
  admin: FastifyInstance
  documented: DocumentedResponses
  /** A request to the admin app, its answer checked against the document. */
  call(method: string, url: string, options?: { token?: string; body?: unknown; headers?: Record<string, string>; payload?: string }): Promise<LightMyRequestResponse>
  /** An account with these roles and a token of it from the admin listener's POST /v1/token. */
  tokenFor(id: string, roles: AccountRole[]): Promise<string>
}

export async function startAdminTestApp(dialect: 'sqlite' | 'postgres', overrides: Partial<ServerConfig> = {}): Promise<AdminTestApp> {
  const database = dialect === 'postgres' ? await withPostgresDatabase() : undefined
  const t = await startTestApp(overrides, database ? { databaseUrl: database.url } : {})
  const admin = await buildAdminApp(t.services)
  await admin.ready()
  const documented = await DocumentedResponses.load(admin)
  const adminApp: AdminTestApp = {
    ...t,
    admin,
    documented,
    async call(method, url, options = {}) {
      const headers: Record<string, string> = { ...options.headers }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
      const inject: InjectOptions = { method: method as InjectOptions['method'], url, headers }
      if (options.payload !== undefined) inject.payload = options.payload
      else if (options.body !== undefined) {
        inject.payload = JSON.stringify(options.body)
        headers['content-type'] ??= 'application/json'
      }
      const response = await admin.inject(inject)
      documented.check(method, url, response)
      return response
    },
    async tokenFor(id, roles) {
      await t.createAccount(id, `${id}-pw`, { roles })
      const response = await adminApp.call('POST', '/v1/token', { headers: { authorization: basic(id, `${id}-pw`) } })
      assert.equal(response.statusCode, 200, response.body)
      return (JSON.parse(response.body) as { accesstoken: string }).accesstoken
    },
    async close() {
      await admin.close()
      await t.close()
      await database?.drop()
    },
  }
  return adminApp
}

/** The contract code and status of an answer. */
export function refusal(response: LightMyRequestResponse): { status: number; code: string; description: string } {
  const body = JSON.parse(response.body) as { code: string; description: string }
  return { status: response.statusCode, code: body.code, description: body.description }
}
