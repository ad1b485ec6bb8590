/**
 * The HTTPS listener (`http.tls`): a certificate replaced on disk is presented by the next handshake
 * without a restart; `clientcas` refuses clients without a certificate from those CAs; `minimumtls`.
 */
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { connect, type PeerCertificate } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { issue, makeCa } from '../support/tls.js';

const running: RunningServer[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function serve(tls: Record<string, unknown>): Promise<{ port: number; server: RunningServer }> {
  const server = await startServer(validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0', tls }, storage: { inmemory: {} } }), pino({ level: 'silent' }));
  running.push(server);
  return { port: Number(server.address.split(':').pop()), server };
}

/** Handshakes with the server and answers GET /v2/; resolves to the presented certificate and the status. */
function handshake(port: number, ca: string, client?: { cert: string; key: string }, minVersion?: 'TLSv1.2' | 'TLSv1.3'): Promise<{ peer: PeerCertificate; status: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'registry.test', ca: readFileSync(ca), ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}), ...(minVersion ? { minVersion, maxVersion: minVersion } : {}) }, () => {
      const peer = socket.getPeerCertificate();
      socket.write('GET /v2/ HTTP/1.1\r\nHost: registry.test\r\nConnection: close\r\n\r\n');
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve({ peer, status: text.split('\r\n')[0] ?? '' }));
    });
    socket.on('error', reject);
  });
}

/** True when the server refused the handshake: an error, or (TLS 1.3, where the client finishes first) the connection closed without an answer. */
async function refused(attempt: Promise<{ status: string }>): Promise<boolean> {
  try {
    return (await attempt).status === '';
  } catch {
    return true;
  }
}

describe('http.tls', () => {
  it('presents a replaced certificate at the next handshake, without a restart', async () => {
    const ca = makeCa();
    const first = issue(ca, 'server', ['registry.test', '127.0.0.1']);
    const { port } = await serve({ certificate: first.cert, key: first.key });
    const before = await handshake(port, ca.cert);
    expect(before.status).toBe('HTTP/1.1 200 OK');
    const renewed = issue(ca, 'renewed', ['registry.test', '127.0.0.1']);
    // as certbot or a Kubernetes secret does: new files moved into place
    copyFileSync(renewed.key, `${first.key}.new`);
    copyFileSync(renewed.cert, `${first.cert}.new`);
    renameSync(`${first.key}.new`, first.key);
    renameSync(`${first.cert}.new`, first.cert);
    const after = await handshake(port, ca.cert);
    expect(after.status).toBe('HTTP/1.1 200 OK');
    expect(after.peer.fingerprint256).not.toBe(before.peer.fingerprint256);
    expect(after.peer.fingerprint256).toBe(new (await import('node:crypto')).X509Certificate(readFileSync(renewed.cert)).fingerprint256);
  });

  it('keeps the previous certificate while a replaced pair does not match yet', async () => {
    const ca = makeCa();
    const first = issue(ca, 'server', ['registry.test', '127.0.0.1']);
    const { port } = await serve({ certificate: first.cert, key: first.key });
    const before = await handshake(port, ca.cert);
    const other = issue(ca, 'other', ['registry.test', '127.0.0.1']);
    copyFileSync(other.cert, first.cert); // the certificate arrives before its key
    const during = await handshake(port, ca.cert);
    expect(during.peer.fingerprint256).toBe(before.peer.fingerprint256);
    copyFileSync(other.key, first.key);
    expect((await handshake(port, ca.cert)).peer.fingerprint256).not.toBe(before.peer.fingerprint256);
  });

  it('clientcas: a client without a certificate of those CAs is refused in the handshake', async () => {
    const ca = makeCa();
    const server = issue(ca, 'server', ['registry.test', '127.0.0.1']);
    const clients = makeCa('Client CA');
    const good = issue(clients, 'client', ['ci-runner'], { client: true });
    const stranger = issue(makeCa('Other CA'), 'client', ['intruder'], { client: true });
    const { port } = await serve({ certificate: server.cert, key: server.key, clientcas: [clients.cert] });
    expect((await handshake(port, ca.cert, good)).status).toBe('HTTP/1.1 200 OK');
    expect(await refused(handshake(port, ca.cert))).toBe(true);
    expect(await refused(handshake(port, ca.cert, stranger))).toBe(true);
  });

  it('clientauth verify-client-cert-if-given lets clients without a certificate in, not those with a foreign one', async () => {
    const ca = makeCa();
    const server = issue(ca, 'server', ['registry.test', '127.0.0.1']);
    const clients = makeCa('Client CA');
    const stranger = issue(makeCa('Other CA'), 'client', ['intruder'], { client: true });
    const { port } = await serve({ certificate: server.cert, key: server.key, clientcas: [clients.cert], clientauth: 'verify-client-cert-if-given' });
    expect((await handshake(port, ca.cert)).status).toBe('HTTP/1.1 200 OK');
    expect(await refused(handshake(port, ca.cert, stranger))).toBe(true);
  });

  it('minimumtls: tls1.3 refuses TLS 1.2 clients', async () => {
    const ca = makeCa();
    const server = issue(ca, 'server', ['registry.test', '127.0.0.1']);
    const { port } = await serve({ certificate: server.cert, key: server.key, minimumtls: 'tls1.3' });
    expect((await handshake(port, ca.cert, undefined, 'TLSv1.3')).status).toBe('HTTP/1.1 200 OK');
    await expect(handshake(port, ca.cert, undefined, 'TLSv1.2')).rejects.toThrow();
  });

  it('refuses to start with a key that does not match the certificate, naming the files', async () => {
    const ca = makeCa();
    const a = issue(ca, 'a', ['registry.test', '127.0.0.1']);
    const b = issue(ca, 'b', ['registry.test', '127.0.0.1']);
    await expect(serve({ certificate: a.cert, key: b.key })).rejects.toThrow(/http\.tls: cannot use certificate .*a\.crt.* with key .*b\.key/);
  });
});
