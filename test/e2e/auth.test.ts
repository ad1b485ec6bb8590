/**
 * Token authentication end to end: a real `wharf serve` with an htpasswd file made by Apache's
 * `htpasswd -B`, the real docker client (`docker login`, push, logout, anonymous pull allowed and
 * refused, push into another team's namespace refused, a wrong password refused, each with the
 * exact text docker prints), skopeo `--creds` copying a multi-platform image index both ways, and
 * a token that expires during a long push being renewed by docker on its own; and CNCF
 * Distribution trusting the built-in token server (its `kid` in libtrust form, its claims).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, freePort, once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, waitFor, type RunOptions, type RunResult, type Tool, type WharfServer } from './helpers.js';

const HTPASSWD: Tool = { name: 'htpasswd', debianPackage: 'apache2-utils' };
const DISTRIBUTION: Tool = { name: 'docker-registry', debianPackage: 'docker-registry' };
const OPENSSL: Tool = { name: 'openssl', debianPackage: 'openssl' };
const PASSWORDS = { alice: 'alice-e2e-pw', bob: 'bob-e2e-pw' };

/** The access rules of the suite: alice is in team `teama` and an admin of `public/*`; bob is in `teamb`. */
function configYaml(htpasswd: string, expiration: number): string {
  return [
    'auth:',
    `  token: {service: wharf-e2e, issuer: wharf-e2e, expiration: ${expiration}}`,
    `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
    '  groups: {publishers: [alice], teama: [alice], teamb: [bob]}',
    '  acl:',
    '    - {group: publishers, name: "public/*", actions: ["*"]}',
    '    - {account: "*", name: "public/*", actions: [pull]}',
    '    - {account: authenticated, name: "${account}/*", actions: ["*"]}',
    '    - {group: teama, name: "teama/*", actions: ["*"]}',
    '    - {group: teamb, name: "teamb/*", actions: ["*"]}',
    '',
  ].join('\n');
}

/** Writes the htpasswd file with Apache's tool, as an operator would. */
async function writeHtpasswd(file: string): Promise<void> {
  await run('htpasswd', ['-B', '-c', '-b', file, 'alice', PASSWORDS.alice]);
  await run('htpasswd', ['-B', '-b', file, 'bob', PASSWORDS.bob]);
  expect(await readFile(file, 'utf8')).toMatch(/^alice:\$2y\$/);
}

/** sha256 digest of bytes. */
function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Writes an OCI layout holding a two-platform image index tagged `ref`; returns the index digest. */
async function writeIndexLayout(layout: string, ref: string): Promise<string> {
  const blobs = join(layout, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (mediaType: string, bytes: Buffer) => {
    const digest = sha256(bytes);
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const manifests = [];
  for (const architecture of ['amd64', 'arm64']) {
    const layer = await put('application/vnd.oci.image.layer.v1.tar+gzip', gzipSync(randomBytes(4096)));
    const config = await put('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
    const manifest = await put(
      'application/vnd.oci.image.manifest.v1+json',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })),
    );
    manifests.push({ ...manifest, platform: { architecture, os: 'linux' } });
  }
  const index = await put('application/vnd.oci.image.index.v1+json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
  return index.digest;
}

/**
 * A TCP proxy to `port` that passes client-to-server bytes at most `bytesPerSecond` (a slow
 * uplink), so that a push lasts longer than a token's lifetime whatever the machine's speed.
 */
async function slowLink(port: number, bytesPerSecond: number): Promise<{ port: number; close(): Promise<void> }> {
  const quantum = Math.max(1, Math.floor(bytesPerSecond / 20));
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const pace = new Transform({
      transform(chunk: Buffer, _encoding, done: TransformCallback) {
        const send = (offset: number) => {
          if (offset >= chunk.length) return done();
          this.push(chunk.subarray(offset, offset + quantum));
          setTimeout(() => send(offset + quantum), 50);
        };
        send(0);
      },
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(pace).pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the slow link has no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
      }),
  };
}

describe('token authentication with docker and skopeo', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;
  const tag = `a${randomBytes(4).toString('hex')}`;

  const fixture = once(async () => {
    await requireTools(TOOLS.docker, TOOLS.skopeo, HTPASSWD);
    dockerHost();
    work = await tempDir('wharf-e2e-auth-');
    const htpasswd = join(work, 'htpasswd');
    await writeHtpasswd(htpasswd);
    const configFile = join(work, 'config.yml');
    await writeFile(configFile, configYaml(htpasswd, 300));
    wharf = await startWharf({ configFile, env: { WHARF_LOG_LEVEL: 'info' } });
    const docker = dockerClient(join(work, 'docker-config'));
    const login = (user: keyof typeof PASSWORDS, password = PASSWORDS[user]) =>
      docker(['login', '--username', user, '--password-stdin', wharf!.host], { input: password, allowFailure: true });
    return { wharf, work, docker, login, host: wharf.host };
  });

  afterAll(async () => {
    if (work) {
      const docker = dockerClient(join(work, 'docker-config'));
      const refs = wharf ? ['teama/app', 'public/app', 'teamb/app'].map((r) => `${wharf!.host}/${r}:${tag}`) : [];
      await docker(['rmi', '--force', ...refs, `wharf-e2e-slow:${tag}`], { allowFailure: true }).catch(() => undefined);
    }
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('docker login with a wrong password fails', async () => {
    const { login, host } = await fixture();
    const res = await login('alice', 'not-the-password');
    expect(res.code, res.output).not.toBe(0);
    expect(res.stderr.trim()).toBe(`Error response from daemon: Get "http://${host}/v2/": unauthorized: invalid username or password`);
  });

  it('docker login, push, push into another team refused, logout, anonymous pull allowed and refused', async () => {
    const { docker, login, host, wharf: server } = await fixture();
    const loggedIn = await login('alice');
    expect(loggedIn.code, loggedIn.output).toBe(0);
    expect(loggedIn.stdout).toContain('Login Succeeded');
    // the client keeps the refresh token (identity token), not the password
    const stored = JSON.parse(await readFile(join(work!, 'docker-config', 'config.json'), 'utf8')) as { auths: Record<string, { identitytoken?: string; auth?: string }> };
    expect(stored.auths[host]?.identitytoken).toMatch(/^ey/);
    expect(Buffer.from(stored.auths[host]?.auth ?? '', 'base64').toString()).not.toContain(PASSWORDS.alice);

    for (const repo of ['teama/app', 'public/app', 'teamb/app']) await docker(['tag', BASE_IMAGE, `${host}/${repo}:${tag}`]);
    const pushed = await docker(['push', `${host}/teama/app:${tag}`]);
    expect(pushed.output).toMatch(/: digest: sha256:[0-9a-f]{64} size: \d+/);
    await docker(['push', `${host}/public/app:${tag}`]);
    const refused = await docker(['push', `${host}/teamb/app:${tag}`], { allowFailure: true });
    expect(refused.code, refused.output).not.toBe(0);
    expect(refused.stderr.trim()).toBe('denied: requested access to the resource is denied: account "alice" may not repository:teamb/app:pull,push');

    const out = await docker(['logout', host]);
    expect(out.stdout).toContain(`Removing login credentials for ${host}`);
    await docker(['rmi', `${host}/teama/app:${tag}`, `${host}/public/app:${tag}`]);
    const pulled = await docker(['pull', `${host}/public/app:${tag}`]);
    expect(pulled.output).toContain(`Status: Downloaded newer image for ${host}/public/app:${tag}`);
    const denied = await docker(['pull', `${host}/teama/app:${tag}`], { allowFailure: true });
    expect(denied.code, denied.output).not.toBe(0);
    expect(denied.stderr.trim()).toBe(
      `Error response from daemon: pull access denied for ${host}/teama/app, repository does not exist or may require 'docker login': ` +
        'denied: requested access to the resource is denied: anonymous access may not repository:teama/app:pull',
    );
    expect(server.logs()).not.toContain(PASSWORDS.alice);
  });

  it('skopeo with --creds copies a two-platform image index in and back out with identical digests', async () => {
    const { work: dir, host } = await fixture();
    const env: NodeJS.ProcessEnv = { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'skopeo-auth.json'), DOCKER_CONFIG: join(dir, 'skopeo-docker') };
    const skopeo = (args: string[], opts: RunOptions = {}): Promise<RunResult> => run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000, ...opts, env });
    const layout = join(dir, 'index-layout');
    const digest = await writeIndexLayout(layout, 'multi');
    const creds = `bob:${PASSWORDS.bob}`;
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:multi`, `docker://${host}/teamb/multi:1`]);
    const back = join(dir, 'index-back');
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/teamb/multi:1`, `oci:${back}:multi`]);
    const index = JSON.parse(await readFile(join(back, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(index.manifests[0]?.digest).toBe(digest);
    expect(await readFile(join(back, 'blobs', 'sha256', digest.slice(7)))).toEqual(await readFile(join(layout, 'blobs', 'sha256', digest.slice(7))));
    const anonymous = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${host}/teamb/multi:1`], { allowFailure: true });
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain('requested access to the resource is denied');
    const wrong = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', 'bob:wrong', `docker://${host}/teamb/multi:1`], { allowFailure: true });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('invalid username or password');
  });

  it('renews a token that expires during a long push, without the user seeing it', async () => {
    const { docker, work: dir } = await fixture();
    // a second server whose tokens live 60 s (the least the clients honour), reached over a slow
    // link: the push takes longer than that, so the daemon must fetch a new token part way
    const htpasswd = join(dir, 'htpasswd');
    const configFile = join(dir, 'short.yml');
    await writeFile(configFile, configYaml(htpasswd, 60));
    const short = await startWharf({ configFile, env: { WHARF_LOG_LEVEL: 'info' } });
    const link = await slowLink(short.port, 256 * 1024);
    try {
      const host = `127.0.0.1:${link.port}`;
      const context = join(dir, 'slow-context');
      await mkdir(context, { recursive: true });
      await writeFile(join(context, 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN head -c 16777216 /dev/urandom > /payload.bin\n`);
      await docker(['build', '--network', 'none', '-t', `wharf-e2e-slow:${tag}`, context]);
      await docker(['tag', `wharf-e2e-slow:${tag}`, `${host}/alice/slow:${tag}`]);
      expect((await docker(['login', '--username', 'alice', '--password-stdin', host], { input: PASSWORDS.alice })).stdout).toContain('Login Succeeded');
      const push = await docker(['push', `${host}/alice/slow:${tag}`], { timeoutMs: 280_000 });
      expect(push.output).toMatch(/: digest: sha256:[0-9a-f]{64} size: \d+/);
      const lines = short
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; account?: string; granted?: string; time: number });
      const pushScope = (granted = '') => granted.split(' ').some((s) => /^repository:alice\/slow:(pull,push|push,pull)$/.test(s));
      const issued = lines.filter((l) => l.msg === 'token issued' && l.account === 'alice' && pushScope(l.granted));
      // the push outlived the first token: the daemon asked for a new one on its own
      expect(issued.length, short.logs()).toBeGreaterThanOrEqual(2);
      expect(issued.at(-1)!.time - issued[0]!.time).toBeGreaterThanOrEqual(60_000);
      expect(lines.filter((l) => l.msg === 'token rejected'), short.logs()).toEqual([]);
      await docker(['logout', host]);
    } finally {
      await docker(['rmi', `127.0.0.1:${link.port}/alice/slow:${tag}`], { allowFailure: true });
      await link.close();
      await short.dispose();
    }
  });

  it('CNCF Distribution (docker-registry) accepts the built-in token server\'s tokens, and only for their scope', async () => {
    await requireTools(DISTRIBUTION, OPENSSL);
    const { work: dir, wharf: server } = await fixture();
    const cert = join(dir, 'wharf-token.crt');
    await run('openssl', ['req', '-new', '-x509', '-key', join(server.root, '..', 'wharf-token-key.pem'), '-subj', '/CN=wharf-e2e', '-days', '1', '-out', cert]);
    const port = await freePort();
    const config = join(dir, 'distribution.yml');
    await writeFile(
      config,
      [
        'version: 0.1',
        'log: {level: warn}',
        `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'distribution'))}}}`,
        `http: {addr: "127.0.0.1:${port}"}`,
        `auth: {token: {realm: "${server.url}/auth/token", service: wharf-e2e, issuer: wharf-e2e, rootcertbundle: ${JSON.stringify(cert)}}}`,
        '',
      ].join('\n'),
    );
    const registry = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
    const exited = new Promise((done) => registry.once('exit', done));
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitFor('docker-registry to answer /v2/', async () => (await fetch(`${url}/v2/`)).status === 401, { timeoutMs: 30_000 });
      const token = async (scope: string) => {
        const res = await fetch(`${server.url}/auth/token?service=wharf-e2e&scope=${scope}`, { headers: { Authorization: `Basic ${Buffer.from(`alice:${PASSWORDS.alice}`).toString('base64')}` } });
        return ((await res.json()) as { token: string }).token;
      };
      const own = await token('repository:alice/dist:pull');
      expect((await fetch(`${url}/v2/`, { headers: { Authorization: `Bearer ${own}` } })).status).toBe(200);
      expect((await fetch(`${url}/v2/alice/dist/tags/list`, { headers: { Authorization: `Bearer ${own}` } })).status).toBe(404);
      const other = await fetch(`${url}/v2/teamb/dist/tags/list`, { headers: { Authorization: `Bearer ${own}` } });
      expect(other.status).toBe(401);
      expect(other.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    } finally {
      registry.kill('SIGTERM');
      await exited;
    }
  });

  it('Basic mode (htpasswd without token): docker login and push; anonymous pull of a public repository works with skopeo, never with docker', async () => {
    const { work: dir, docker } = await fixture();
    const configFile = join(dir, 'basic.yml');
    await writeFile(configFile, configYaml(join(dir, 'htpasswd'), 300).replace(/^ {2}token: .*\n/m, ''));
    const basicServer = await startWharf({ configFile, env: { WHARF_LOG_LEVEL: 'info' } });
    try {
      const host = basicServer.host;
      const challenge = await fetch(`${basicServer.url}/v2/`);
      expect(challenge.headers.get('www-authenticate')).toBe('Basic realm="wharf",charset="UTF-8"');
      const login = await docker(['login', '--username', 'bob', '--password-stdin', host], { input: PASSWORDS.bob });
      expect(login.stdout).toContain('Login Succeeded');
      await docker(['tag', BASE_IMAGE, `${host}/bob/basic:${tag}`]);
      expect((await docker(['push', `${host}/bob/basic:${tag}`])).output).toMatch(/: digest: sha256:[0-9a-f]{64}/);
      await docker(['login', '--username', 'alice', '--password-stdin', host], { input: PASSWORDS.alice });
      await docker(['tag', BASE_IMAGE, `${host}/public/basic:${tag}`]);
      await docker(['push', `${host}/public/basic:${tag}`]);
      await docker(['logout', host]);
      await docker(['rmi', `${host}/bob/basic:${tag}`, `${host}/public/basic:${tag}`]);
      const denied = await docker(['pull', `${host}/bob/basic:${tag}`], { allowFailure: true });
      expect(denied.code, denied.output).not.toBe(0);
      expect(denied.stderr.trim()).toBe(`Error response from daemon: Head "http://${host}/v2/bob/basic/manifests/${tag}": no basic auth credentials`);
      // docker sends credentials only to a registry whose GET /v2/ asked for them, and then has
      // none to send: no anonymous pull from a Basic-mode registry, even where the rules allow it
      const publicPull = await docker(['pull', `${host}/public/basic:${tag}`], { allowFailure: true });
      expect(publicPull.code, publicPull.output).not.toBe(0);
      expect(publicPull.stderr.trim()).toBe(`Error response from daemon: Head "http://${host}/v2/public/basic/manifests/${tag}": no basic auth credentials`);
      // skopeo without credentials sends empty Basic ones: anonymous, never a failed login
      const env: NodeJS.ProcessEnv = { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'no-such-auth.json'), DOCKER_CONFIG: join(dir, 'no-docker-config') };
      for (let i = 0; i < 6; i++) {
        const inspected = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/public/basic:${tag}`], { env });
        expect(JSON.parse(inspected.stdout)).toMatchObject({ schemaVersion: 2 });
      }
      const refused = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${host}/bob/basic:${tag}`], { env, allowFailure: true });
      expect(refused.code).not.toBe(0);
      expect(basicServer.logs()).not.toContain('"login failed"');
    } finally {
      await basicServer.dispose();
    }
  });
});
