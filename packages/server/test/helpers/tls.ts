/**
 * A throwaway self-signed certificate for 127.0.0.1 and localhost, made with the `openssl` CLI.
 * Tests trust it by passing it as the CA of their request, never by turning verification off.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface TestCertificate {
  certPath: string
  keyPath: string
  /** The certificate PEM, to pass as `ca`. */
  certPem: string
}

export async function makeSelfSignedCertificate(dir: string): Promise<TestCertificate> {
  const certPath = join(dir, 'cert.pem')
  const keyPath = join(dir, 'key.pem')
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', keyPath, '-out', certPath, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ])
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8') }
}
