/**
 * A `fetch` that trusts one private CA, for the HTTPS end-to-end test. In an application, pass an
 * undici `Agent` with `connect: { ca }` as the `dispatcher` (see the README); this project does
 * not install undici, so the test builds the same thing over node:https. TLS verification stays on:
 * only the CA list changes.
 */
import { request } from 'node:https'

export function fetchTrustingCa(ca: string): typeof fetch {
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined))
    const outgoingHeaders: Record<string, string> = {}
    headers.forEach((value, name) => { outgoingHeaders[name] = value })
    const body = typeof init.body === 'string' ? init.body : undefined
    return new Promise<Response>((resolve, reject) => {
      const outgoing = request(url, {
        method: init.method ?? 'GET',
        headers: outgoingHeaders,
        ca,
        signal: init.signal ?? undefined,
      }, (incoming) => {
        const chunks: Buffer[] = []
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
        incoming.on('error', reject)
        incoming.on('end', () => {
          const responseHeaders = new Headers()
          for (const [name, value] of Object.entries(incoming.headers)) {
            if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value)
          }
          resolve(new Response(Buffer.concat(chunks), { status: incoming.statusCode ?? 500, headers: responseHeaders }))
        })
      })
      outgoing.on('error', reject)
      outgoing.end(body)
    })
  }) as typeof fetch
}
