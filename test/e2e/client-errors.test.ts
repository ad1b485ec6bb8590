/**
 * Bad input to the `wharf` client, each answered with one line on stderr, exit status 1 and nothing
 * at DEST: an unknown host, a refused connection, a wrong password, a missing tag, a file that is not
 * an image tarball, and a registry that answers a blob whose digest does not match.
 */
import { createServer, type Server } from 'node:http';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';
import { ALICE, startTokenWharf, wharf } from './client-support.js';
import { freePort, once, removeDir, run, startWharf, tempDir } from './helpers.js';

/** Runs a command expected to fail; returns its one stderr line. */
async function fails(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  const r = await wharf(args, env, { allowFailure: true, ...(input ? { input } : {}) });
  expect(r.code, r.stderr).toBe(1);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return lines[0]!;
}

describe('wharf client errors', () => {
  const setup = once(async () => {
    const dir = await tempDir('wharf-e2e-errors-');
    const server = await startWharf();
    return { dir, server, env: { DOCKER_CONFIG: join(dir, 'cfg') } };
  });
  afterAll(async () => {
    const s = await setup();
    await s.server.dispose();
    await removeDir(s.dir);
  });

  it('names an unknown host and a refused connection, leaving nothing at DEST', async () => {
    const { dir, env } = await setup();
    expect(await fails(['pull', 'no-such-registry.invalid/team/app:1.0', join(dir, 'out1')], env)).toMatch(/^wharf: unknown host no-such-registry\.invalid/);
    const port = await freePort();
    expect(await fails(['pull', `127.0.0.1:${port}/team/app:1.0`, join(dir, 'out2')], env)).toMatch(new RegExp(`^wharf: cannot connect to 127\\.0\\.0\\.1:${port}: connection refused`));
    expect(await readdir(dir)).toEqual([]);
  });

  it('says which tag is missing', async () => {
    const { dir, env, server } = await setup();
    expect(await fails(['pull', `${server.host}/team/app:1.0`, join(dir, 'out3')], env)).toMatch(/^wharf: (manifest unknown: no tag 1\.0 in team\/app|repository unknown)/);
    const layout = join(dir, 'layout');
    const { manifest } = await writeImage(layout);
    await writeLayoutIndex(layout, [manifest]);
    await wharf(['push', layout, `${server.host}/team/app:2.0`, '-q'], env);
    expect(await fails(['pull', `${server.host}/team/app:1.0`, join(dir, 'out3')], env)).toBe('wharf: manifest unknown: no tag 1.0 in team/app');
    expect(await fails(['tag', `${server.host}/team/app:1.0`, 'x'], env)).toBe('wharf: manifest unknown: no tag 1.0 in team/app');
    await removeDir(layout);
  });

  it('refuses a file that is not an image tarball', async () => {
    const { dir, env, server } = await setup();
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'not a tarball\n'.repeat(100));
    expect(await fails(['push', text, `${server.host}/team/app:1`], env)).toMatch(/is not an image tarball/);
    const tarball = join(dir, 'files.tar');
    await run('tar', ['-cf', tarball, '-C', dir, 'notes.txt']);
    expect(await fails(['push', tarball, `${server.host}/team/app:1`], env)).toMatch(/holds neither index\.json \(OCI\) nor manifest\.json \(docker save\)/);
    expect(await fails(['push', join(dir, 'missing.tar'), `${server.host}/team/app:1`], env)).toMatch(/no such file/);
  });

  it('refuses a wrong password', async () => {
    const { env } = await setup();
    const { registry } = await startTokenWharf();
    try {
      expect(await fails(['login', registry.host, '-u', ALICE.user, '--password-stdin'], env, 'wrong-password')).toMatch(new RegExp(`^wharf: login to ${registry.host.replace(/\./g, '\\.')} failed: .*wrong username or password`));
    } finally {
      await registry.stop();
    }
  });

  it('fails a pull whose blob does not match its digest and writes nothing at DEST', async () => {
    const { dir, env } = await setup();
    const layout = join(dir, 'bad-layout');
    const { manifest, layers } = await writeImage(layout);
    const blob = (digest: string) => readFile(join(layout, 'blobs', 'sha256', digest.slice(7)));
    const server: Server = createServer((req, res) => {
      void (async () => {
        if (req.url === '/v2/') return res.writeHead(200).end('{}');
        if (req.url?.includes('/manifests/')) {
          const body = await blob(manifest.digest);
          return res.writeHead(200, { 'content-type': manifest.mediaType, 'docker-content-digest': manifest.digest, 'content-length': body.length }).end(body);
        }
        const digest = req.url!.split('/blobs/')[1]!;
        const body = digest === layers[0]!.digest ? Buffer.alloc(layers[0]!.size, 1) : await blob(digest);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      })();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const out = join(dir, 'pulled');
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await fails(['pull', `${host}/team/bad:1`, out], env)).toMatch(new RegExp(`blob ${layers[0]!.digest}: the content's digest is sha256:[0-9a-f]{64}, not ${layers[0]!.digest}`));
      expect((await readdir(dir)).filter((f) => f.startsWith('pulled'))).toEqual([]);
    } finally {
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
