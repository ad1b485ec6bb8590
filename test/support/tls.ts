/**
 * Certificates for TLS tests, made with the openssl command (Debian package openssl): a CA, server
 * certificates for host names and IP addresses signed by it, and client certificates.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFolder } from './temp.js';

/** A certificate authority on disk. */
export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate */
  cert: string;
  key: string;
}

/** A certificate and its key on disk. */
export interface TestCert {
  cert: string;
  key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA (EC P-256, valid one day) named `name` in a fresh temp folder, or in `dir`. */
export function makeCa(name = 'Wharf test CA', dir = tempFolder('wharf-tls-')): TestCa {
  const cert = join(dir, `${name.replace(/\W+/g, '-')}.crt`);
  const key = join(dir, `${name.replace(/\W+/g, '-')}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', key, '-out', cert], dir);
  return { dir, cert, key };
}

/**
 * Makes a certificate signed by `ca`: a server certificate for `names` (DNS names and IP addresses),
 * or with `client: true` a client certificate for CN `names[0]`.
 * @param file the base name of the .crt and .key files in the CA's folder
 */
export function issue(ca: TestCa, file: string, names: string[], options: { client?: boolean } = {}): TestCert {
  const cert = join(ca.dir, `${file}.crt`);
  const key = join(ca.dir, `${file}.key`);
  const csr = join(ca.dir, `${file}.csr`);
  const ext = join(ca.dir, `${file}.ext`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  writeFileSync(ext, options.client ? 'extendedKeyUsage=clientAuth\n' : `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', key, '-out', csr], ca.dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', cert], ca.dir);
  return { cert, key };
}
