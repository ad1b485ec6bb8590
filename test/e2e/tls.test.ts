/**
 * Wharf over TLS on a real host name, with real clients: a CA-signed certificate for a name the test
 * adds to /etc/hosts (removed afterwards), client certificates required
 * (`http.tls.clientcas`), and htpasswd authentication. dockerd trusts the CA and presents its client
 * certificate through `/etc/docker/certs.d/<host:port>/` (Docker 20.10 reads no other folder when
 * rootful; the test's folder is removed afterwards): `docker login`, `docker push`, `docker pull`. The
 * certificate file is replaced while the server runs and the next handshake presents the new one.
 * skopeo connects with `--cert-dir` (CA and client certificate), and is refused without one.
 *
 * The name resolves to the IPv6 loopback `::1`, where Wharf listens: dockerd treats every registry
 * whose name resolves into 127.0.0.0/8 as insecure (moby's default insecure-registries), and for an
 * insecure registry it skips certificate verification and reads no certs.d folder, so with 127.0.0.1
 * the test would prove nothing about the CA.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { issue, makeCa } from '../support/tls.js';
import { htpasswdLine } from '../integration/auth-harness.js';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, freePort, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type WharfServer } from './helpers.js';

const HOSTS = '/etc/hosts';
const CERTS_D = '/etc/docker/certs.d';
const HOST = `wharf-e2e-${randomBytes(3).toString('hex')}.test`;
const MARK = `# wharf e2e ${HOST}`;

/** Adds `::1 HOST` to /etc/hosts (the resolver dockerd, skopeo and Node use). */
async function addHost(): Promise<void> {
  await writeFile(HOSTS, `${(await readFile(HOSTS, 'utf8')).trimEnd()}\n::1 ${HOST} ${MARK}\n`);
}

/** Removes the line {@link addHost} added, and only it. */
async function removeHost(): Promise<void> {
  const text = await readFile(HOSTS, 'utf8');
  await writeFile(HOSTS, text.split('\n').filter((l) => !l.includes(MARK)).join('\n'));
}

/** The fingerprint of the certificate the server presents for HOST at `port`. */
function presented(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '::1', port, servername: HOST, ca: readFileSync(ca), cert: readFileSync(client.cert), key: readFileSync(client.key) }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

let client: { cert: string; key: string };

describe('TLS with a real host name, docker and skopeo', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;
  let certsDir: string | undefined;
  afterAll(async () => {
    await wharf?.dispose();
    await removeHost();
    if (certsDir) await rm(certsDir, { recursive: true, force: true });
    if (work) await removeDir(work);
  });

  it('docker login, push and pull over TLS with client certificates; a replaced certificate is presented at the next handshake; skopeo with --cert-dir', async () => {
    await requireTools(TOOLS.docker, TOOLS.skopeo);
    dockerHost();
    work = await tempDir('wharf-e2e-tls-');
    const ca = makeCa('Wharf e2e CA', work);
    const server = issue(ca, 'server', [HOST]);
    const clientCa = makeCa('Wharf e2e client CA', work);
    client = issue(clientCa, 'client', ['ci-runner'], { client: true });
    await writeFile(join(work, 'htpasswd'), `${htpasswdLine('alice', 'alice-pw')}\n`);
    const port = await freePort();
    const debugPort = await freePort();
    const config = join(work, 'config.yml');
    await writeFile(
      config,
      [
        'http:',
        `  tls: {certificate: ${server.cert}, key: ${server.key}, clientcas: [${clientCa.cert}]}`,
        `  debug: {addr: "127.0.0.1:${debugPort}"}`,
        `auth: {htpasswd: {path: ${join(work, 'htpasswd')}}, acl: [{account: authenticated, name: "\${account}/*", actions: ["*"]}]}`,
        '',
      ].join('\n'),
    );
    await addHost();
    const registry = `${HOST}:${port}`;
    certsDir = join(CERTS_D, registry);
    await mkdir(certsDir, { recursive: true });
    copyFileSync(ca.cert, join(certsDir, 'ca.crt'));
    copyFileSync(client.cert, join(certsDir, 'client.cert'));
    copyFileSync(client.key, join(certsDir, 'client.key'));
    wharf = await startWharf({ port, listenHost: '[::1]', configFile: config, readyUrl: `http://127.0.0.1:${debugPort}/livez` });

    const docker = dockerClient(join(work, 'docker-config'));
    await docker(['login', '--username', 'alice', '--password-stdin', registry], { input: 'alice-pw' });
    const image = `${registry}/alice/base:tls`;
    await docker(['tag', BASE_IMAGE, image]);
    const pushed = await docker(['push', image]);
    expect(pushed.output).toMatch(/tls: digest: sha256:[0-9a-f]{64}/);
    await docker(['rmi', image]);
    await docker(['pull', image]);
    expect((await docker(['run', '--rm', '--network', 'none', image, 'echo', 'pulled-over-tls'])).stdout.trim()).toBe('pulled-over-tls');

    // a renewal: new files moved into place while the server runs
    const before = await presented(port, ca.cert);
    const renewed = issue(ca, 'renewed', [HOST]);
    copyFileSync(renewed.key, `${server.key}.new`);
    copyFileSync(renewed.cert, `${server.cert}.new`);
    renameSync(`${server.key}.new`, server.key);
    renameSync(`${server.cert}.new`, server.cert);
    const after = await presented(port, ca.cert);
    expect(after).not.toBe(before);
    expect(after).toBe(new X509Certificate(readFileSync(renewed.cert)).fingerprint256);
    await docker(['rmi', image]);
    await docker(['pull', image]);

    // skopeo: --cert-dir holds the CA (ca.crt) and the client certificate (client.cert, client.key)
    const skopeoEnv = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json') };
    const certDir = join(work, 'skopeo-certs');
    await mkdir(certDir);
    copyFileSync(ca.cert, join(certDir, 'ca.crt'));
    copyFileSync(client.cert, join(certDir, 'client.cert'));
    copyFileSync(client.key, join(certDir, 'client.key'));
    const copied = await run('skopeo', ['--insecure-policy', 'copy', '--src-cert-dir', certDir, '--src-creds', 'alice:alice-pw', '--dest-cert-dir', certDir, '--dest-creds', 'alice:alice-pw', `docker://${image}`, `docker://${registry}/alice/copy:tls`], { env: skopeoEnv, timeoutMs: 120_000 });
    expect(copied.code).toBe(0);
    const tags = await run('skopeo', ['list-tags', '--cert-dir', certDir, '--creds', 'alice:alice-pw', `docker://${registry}/alice/copy`], { env: skopeoEnv });
    expect(JSON.parse(tags.stdout)).toMatchObject({ Tags: ['tls'] });
    const caOnly = join(work, 'ca-only');
    await mkdir(caOnly);
    copyFileSync(ca.cert, join(caOnly, 'ca.crt'));
    const refused = await run('skopeo', ['list-tags', '--cert-dir', caOnly, '--creds', 'alice:alice-pw', `docker://${registry}/alice/copy`], { env: skopeoEnv, allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/certificate|tls|remote error/i);
    // plain HTTP is not served on a TLS listener
    const plain = await new Promise<string>((resolve) => {
      const s = connect(port, '::1', () => s.write('GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n'));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(plain).not.toMatch(/^HTTP\/1\.1 200/);
  });
});
