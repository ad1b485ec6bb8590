/**
 * Stateless processes: two real `wharf serve` processes on ONE S3 bucket (s3rver in its own process).
 * Every request of a push may go to either of them, as behind a load balancer, and a process killed
 * with SIGKILL in the middle of an upload loses nothing that was acknowledged.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOG_MAX_AGE_MS } from '../../src/registry/catalog.js';
import { startS3, wharfS3Env, type RunningS3 } from '../support/s3.js';
import { once, startWharf, waitFor, type WharfServer } from './helpers.js';

const MiB = 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A response's status, headers and body with the server's log, for assertion messages. */
async function explain(what: string, res: Response, server: WharfServer): Promise<string> {
  const body = await res.clone().text().catch(() => '');
  return `${what} -> ${res.status} ${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('; ')}\n${body.slice(0, 2000)}\n--- server output ---\n${server.logs().slice(-6000)}`;
}

/** The session path from a Location header (a path, valid on every replica). */
function sessionPath(res: Response): string {
  const location = res.headers.get('location');
  if (!location) throw new Error(`no Location on ${res.status}`);
  return new URL(location, 'http://replica').pathname + new URL(location, 'http://replica').search;
}

async function startUpload(server: WharfServer, name: string): Promise<string> {
  const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(res.status, await explain('POST upload', res, server)).toBe(202);
  return sessionPath(res);
}

async function patchChunk(server: WharfServer, session: string, chunk: Uint8Array, start: number): Promise<string> {
  const res = await fetch(`${server.url}${session}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.length - 1}` },
    body: chunk,
  });
  expect(res.status, await explain(`PATCH ${start}`, res, server)).toBe(202);
  expect(res.headers.get('range')).toBe(`0-${start + chunk.length - 1}`);
  return sessionPath(res);
}

async function finish(server: WharfServer, session: string, digest: string, body?: Uint8Array): Promise<void> {
  const url = new URL(`${server.url}${session}`);
  url.searchParams.set('digest', digest);
  const res = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: body ?? new Uint8Array() });
  expect(res.status, await explain('PUT', res, server)).toBe(201);
}

async function expectBlob(server: WharfServer, name: string, bytes: Uint8Array): Promise<void> {
  const res = await fetch(`${server.url}/v2/${name}/blobs/${sha256(bytes)}`);
  expect(res.status, await explain('GET blob', res, server)).toBe(200);
  expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(bytes));
}

describe('two wharf processes on one S3 bucket', () => {
  let s3: RunningS3 | undefined;
  const servers: WharfServer[] = [];

  const replicas = once(async () => {
    s3 = await startS3();
    const env = { storageEnv: wharfS3Env(s3, 'replicas') };
    const a = await startWharf(env);
    servers.push(a);
    const b = await startWharf(env);
    servers.push(b);
    return { a, b };
  });

  afterAll(async () => {
    try {
      for (const s of servers) await s.dispose();
    } finally {
      await s3?.stop();
    }
  });

  it('a chunked upload started on the first, continued on the second and finished on the first is pulled from the second', async () => {
    const { a, b } = await replicas();
    const bytes = randomBytes(11 * MiB + 123);
    const parts = [bytes.subarray(0, 3 * MiB), bytes.subarray(3 * MiB, 9 * MiB), bytes.subarray(9 * MiB)];
    let session = await startUpload(a, 'team/app');
    session = await patchChunk(a, session, parts[0]!, 0);
    session = await patchChunk(b, session, parts[1]!, 3 * MiB);
    const status = await fetch(`${a.url}${session}`);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${9 * MiB - 1}`);
    await finish(a, session, sha256(bytes), parts[2]);
    await expectBlob(b, 'team/app', bytes);
  });

  it('a manifest pushed to one is listed and pulled from the other', async () => {
    const { a, b } = await replicas();
    // the second process walks the bucket before the push, and answers from its cached catalog below
    const before = (await (await fetch(`${b.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(before.repositories).not.toContain('team/img');
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBytes(4096);
    for (const blob of [config, layer]) await finish(a, await startUpload(a, 'team/img'), sha256(blob), blob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
      }),
    );
    const put = await fetch(`${a.url}/v2/team/img/manifests/v1`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
    expect(put.status, await explain('PUT manifest', put, a)).toBe(201);

    const tags = await fetch(`${b.url}/v2/team/img/tags/list`);
    expect(await tags.json()).toEqual({ name: 'team/img', tags: ['v1'] });
    // each process caches its catalog: another process's push shows after the cache's max age (plus one walk)
    await waitFor(
      "the second process's catalog to list team/img",
      async () => ((await (await fetch(`${b.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories.includes('team/img'),
      { timeoutMs: CATALOG_MAX_AGE_MS + 10_000 },
    );
    const got = await fetch(`${b.url}/v2/team/img/manifests/v1`, { headers: { Accept: OCI_MANIFEST } });
    expect(got.status).toBe(200);
    expect(got.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(Buffer.from(await got.arrayBuffer()).equals(manifest)).toBe(true);
    await expectBlob(b, 'team/img', layer);
  });

  it('a tag moved or deleted on one is seen at once by the other, also by reads sent together (shared reads are never stale)', async () => {
    const { a, b } = await replicas();
    const push = async (reference: string, nonce: string): Promise<string> => {
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce, rootfs: { type: 'layers', diff_ids: [] } }));
      await finish(a, await startUpload(a, 'team/moved'), sha256(config), config);
      const manifest = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length }, layers: [] }),
      );
      const put = await fetch(`${a.url}/v2/team/moved/manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
      expect(put.status, await explain('PUT manifest', put, a)).toBe(201);
      return sha256(manifest);
    };
    const together = (n: number, path: string): Promise<Response[]> =>
      Promise.all(Array.from({ length: n }, () => fetch(`${b.url}${path}`, { headers: { Accept: OCI_MANIFEST } })));
    const first = await push('v1', 'one');
    // the second process reads (and caches the bytes of) the first manifest by tag
    for (const res of await together(8, '/v2/team/moved/manifests/v1')) expect(res.headers.get('docker-content-digest')).toBe(first);
    const second = await push('v1', 'two');
    await push('v2', 'three');
    for (const res of await together(16, '/v2/team/moved/manifests/v1')) {
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(second);
    }
    for (const res of await together(16, '/v2/team/moved/tags/list')) expect(await res.json()).toEqual({ name: 'team/moved', tags: ['v1', 'v2'] });
    const deleted = await fetch(`${a.url}/v2/team/moved/manifests/v1`, { method: 'DELETE' });
    expect(deleted.status, await explain('DELETE tag', deleted, a)).toBe(202);
    for (const res of await together(16, '/v2/team/moved/manifests/v1')) expect(res.status).toBe(404);
    for (const res of await together(16, '/v2/team/moved/tags/list')) expect(await res.json()).toEqual({ name: 'team/moved', tags: ['v2'] });
  });

  it('a process killed (SIGKILL) in the middle of an upload restarts, and the upload continues where it was acknowledged', async () => {
    const { a, b } = await replicas();
    const bytes = randomBytes(7 * MiB + 9);
    const first = bytes.subarray(0, 2 * MiB);
    const rest = bytes.subarray(2 * MiB);
    const session = await patchChunk(b, await startUpload(b, 'team/killed'), first, 0);

    // A PATCH whose body is still flowing when the process dies: nothing of it may count.
    const flowing = request(`${b.url}${session}`, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } });
    const ended = new Promise<void>((done) => {
      flowing.on('error', () => done());
      flowing.on('response', (res) => {
        res.resume();
        done();
      });
    });
    await new Promise<void>((done) => flowing.write(rest.subarray(0, MiB), () => done()));
    const killed = await b.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');
    await ended;
    await b.restart();

    const status = await fetch(`${b.url}${session}`);
    expect(status.status, await explain('GET status after restart', status, b)).toBe(204);
    expect(status.headers.get('range')).toBe(`0-${first.length - 1}`);
    const next = await patchChunk(b, session, rest, first.length);
    await finish(a, next, sha256(bytes));
    await expectBlob(b, 'team/killed', bytes);
    await waitFor('the session to be gone', async () => (await fetch(`${a.url}${session}`)).status === 404, { timeoutMs: 5000 });
  });
});
