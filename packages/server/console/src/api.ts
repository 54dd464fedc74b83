/**
 * The console's only link to the server: the admin API on its own origin. The token lives in
 * this module's memory only (never localStorage or a cookie) and is dropped on sign-out, on
 * an idle timeout, and when the server says it is no longer valid.
 */
export interface ApiError {
  status: number
  code: string
  description: string
}

export class RequestFailed extends Error {
  constructor(readonly answer: ApiError) {
    super(answer.description)
  }
}

let token: string | undefined
let onExpired: () => void = () => undefined

export const signedIn = (): boolean => token !== undefined
export function whenExpired(callback: () => void): void {
  onExpired = callback
}
export function forget(): void {
  token = undefined
}

async function failure(response: Response): Promise<RequestFailed> {
  let body: { code?: string; description?: string } = {}
  try {
    body = (await response.json()) as typeof body
  } catch {
    // not the contract's JSON: keep the status
  }
  return new RequestFailed({ status: response.status, code: body.code ?? '', description: body.description ?? response.statusText })
}

/** POST /v1/token with Basic credentials; the token is kept only if it works on the admin API. */
export async function signIn(account: string, password: string): Promise<void> {
  const basic = btoa(String.fromCharCode(...new TextEncoder().encode(`${account}:${password}`)))
  const response = await fetch('/v1/token', { method: 'POST', headers: { authorization: `Basic ${basic}` } })
  if (!response.ok) throw await failure(response)
  token = ((await response.json()) as { accesstoken: string }).accesstoken
}

export async function api<T>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<{ body: T; headers: Headers }> {
  if (token === undefined) throw new RequestFailed({ status: 0, code: '3005', description: 'not signed in' })
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers }
  const init: RequestInit = { method, headers }
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json'
    init.body = JSON.stringify(options.body)
  }
  const response = await fetch(path, init)
  if (!response.ok) {
    const error = await failure(response)
    if (error.answer.code === '3002') {
      forget()
      onExpired()
    }
    throw error
  }
  return { body: (await response.json()) as T, headers: response.headers }
}
