/**
 * The TLS side of the listener, with CNCF Distribution's `http.tls` keys: the certificate and key,
 * client certificates (`clientcas`, `clientauth` in Go's modes), `minimumtls` and `ciphersuites` (Go's
 * IANA names, mapped to OpenSSL's). The files are checked before every new connection's handshake: when
 * one changed (a renewal), they are read again and that handshake presents the new certificate; a
 * pair that does not load (a key replaced before its certificate) keeps the old one until it does.
 */
import { readFileSync, statSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer, type SecureContextOptions, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { TLS_VERSIONS } from '../config/production-schema.js';
import type { Config } from '../config/schema.js';

/** The validated `http.tls` section with a certificate. */
export type TlsConfig = NonNullable<Config['http']['tls']> & { certificate: string; key: string };

/** Go's (IANA) cipher suite names that OpenSSL in Node.js serves, and OpenSSL's names for them. */
const CIPHER_SUITES: Record<string, string> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3's suites: Go always enables them (ciphersuites does not apply), so Wharf does too. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

/**
 * OpenSSL's cipher list for `http.tls.ciphersuites`, or undefined for Node's default.
 * @throws ConfigError naming a suite Node.js does not serve (RC4, 3DES) or does not know
 */
export function cipherList(suites: readonly string[] | undefined): string | undefined {
  if (suites === undefined || suites.length === 0) return undefined;
  const names = suites.filter((s) => !TLS13_SUITES.includes(s)).map((s) => {
    const name = CIPHER_SUITES[s];
    if (!name) throw new ConfigError(`config key "http.tls.ciphersuites" holds "${s}": not a suite Wharf serves; use ${Object.keys(CIPHER_SUITES).slice(-6).join(', ')} or remove the key`);
    return name;
  });
  return [...TLS13_SUITES, ...names].join(':');
}

/** The files' identity: what changes when one is replaced or rewritten. */
function signature(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * The certificate, key and client CAs read from their files, as secure context options.
 * @throws Error from reading a file
 */
function readCredentials(tls: TlsConfig): SecureContextOptions {
  return {
    cert: readFileSync(tls.certificate),
    key: readFileSync(tls.key),
    ...(tls.clientcas?.length ? { ca: tls.clientcas.map((f) => readFileSync(f)) } : {}),
  };
}

/**
 * The TLS server options of `http.tls`.
 * @throws ConfigError naming the key whose file cannot be read or whose pair does not match
 */
export function tlsServerOptions(tls: TlsConfig): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  let credentials: SecureContextOptions;
  try {
    credentials = readCredentials(tls);
    createSecureContext(credentials);
  } catch (err) {
    throw new ConfigError(`http.tls: cannot use certificate ${JSON.stringify(tls.certificate)} with key ${JSON.stringify(tls.key)}${tls.clientcas?.length ? ` and clientcas ${JSON.stringify(tls.clientcas)}` : ''} (${(err as Error).message}); point them at readable PEM files of one pair`);
  }
  const clientCerts = (tls.clientcas?.length ?? 0) > 0;
  return {
    ...credentials,
    minVersion: TLS_VERSIONS[tls.minimumtls],
    ...(cipherList(tls.ciphersuites) ? { ciphers: cipherList(tls.ciphersuites) } : {}),
    requestCert: clientCerts,
    rejectUnauthorized: clientCerts && tls.clientauth === 'require-and-verify-client-cert',
  };
}

/**
 * Makes `server` re-read the files before each new connection's handshake when they changed, and
 * enforce the `clientauth` modes that Node's `rejectUnauthorized` does not express.
 */
export function watchCredentials(server: TlsServer, tls: TlsConfig, logger: Logger): void {
  const files = [tls.certificate, tls.key, ...(tls.clientcas ?? [])];
  const base = tlsServerOptions(tls);
  let loaded = signature(files);
  let failed = '';
  // runs before the TLS server's own connection listener, which starts the handshake with the current context
  server.prependListener('connection', () => {
    const now = signature(files);
    if (now === loaded) return;
    try {
      server.setSecureContext({ ...base, ...readCredentials(tls) });
      loaded = now;
      failed = '';
      logger.info({ certificate: tls.certificate }, 'TLS certificate reloaded');
    } catch (err) {
      if (failed !== now) logger.warn({ err, certificate: tls.certificate, key: tls.key }, 'the TLS files changed but do not load (yet): serving the previous certificate');
      failed = now;
    }
  });
  if (!base.requestCert || tls.clientauth === 'require-and-verify-client-cert' || tls.clientauth === 'request-client-cert') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const hasCert = Object.keys(socket.getPeerCertificate()).length > 0;
    const refuse = tls.clientauth === 'require-any-client-cert' ? !hasCert : hasCert && !socket.authorized;
    if (refuse) socket.destroy();
  });
}
