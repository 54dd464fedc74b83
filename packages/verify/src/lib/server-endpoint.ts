/** Credentials of a bizauth account with the `introspect` role (wire.md). */
export interface ServerCredentials {
  readonly account: string
  readonly password: string
}

/** `{url}/{path}`, keeping any path prefix the server is mounted under. */
export function endpointUrl(baseUrl: string | URL, path: string): URL {
  const base = new URL(String(baseUrl))
  if (!base.pathname.endsWith('/')) base.pathname += '/'
  return new URL(path, base)
}

/** RFC 7617 Basic credentials, UTF-8, standard base64 (contract §4). */
export function basicAuthorization(credentials: ServerCredentials): string {
  return `Basic ${Buffer.from(`${credentials.account}:${credentials.password}`, 'utf8').toString('base64')}`
}
