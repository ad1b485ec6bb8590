/**
 * The registry client against the real Wharf app on a loopback port: push of an OCI layout, pull
 * back to a layout (parallel ranged GETs), copy of an index with mounts and referrers, tags,
 * HEAD, delete, and the library's errors.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { copy } from '../../src/cli/copy.js';
import { pull } from '../../src/cli/pull.js';
import { copyImage, layoutSink, layoutSource, listReferrers, listTags, listRepositories, parseImageReference, RegistryClient, registrySink, registrySource, ClientError, fetchBlob } from '../../src/client/index.js';
import { forEachDriver } from './harness.js';
import { sha256, writeImage, writeIndexLayout, writeLayoutIndex } from '../support/layouts.js';

const dirs: string[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wharf-client-'));
  dirs.push(d);
  return d;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ retry: { retries: 2, baseDelayMs: 10 }, ...options });
  clients.push(c);
  return c;
}

forEachDriver((make) => {
  it('pushes an OCI layout, lists its tag, and pulls it back to a layout with parallel ranged GETs', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src, { layers: [3 * 1024 * 1024 + 17, 1000] });
    await writeLayoutIndex(src, [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }]);
    const c = client({ chunkSize: 1024 * 1024, monolithicMax: 1024 * 1024 });
    const ref = parseImageReference(`${host}/team/app:1.0`);
    const pushed = await copyImage(layoutSource(src, 'v1'), registrySink(c, ref));
    expect(pushed.digest).toBe(manifest.digest);
    expect(pushed.blobs.uploaded).toBe(3);
    expect(await listTags(c, ref)).toEqual(['1.0']);
    expect(await listRepositories(c, host)).toContain('team/app');
    expect((await c.headManifest(ref))?.digest).toBe(manifest.digest);

    const again = await copyImage(layoutSource(src, 'v1'), registrySink(c, ref));
    expect(again.blobs).toMatchObject({ uploaded: 0, exists: 3 });

    const out = join(await tempDir(), 'out');
    const pulled = await copyImage(registrySource(c, ref), layoutSink(out, '1.0', { parallelThreshold: 1024 * 1024, partSize: 256 * 1024 }));
    expect(pulled.digest).toBe(manifest.digest);
    const big = await readFile(join(out, 'blobs', 'sha256', layers[0]!.digest.slice(7)));
    expect(sha256(big)).toBe(layers[0]!.digest);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests).toEqual([expect.objectContaining({ digest: manifest.digest, annotations: { 'org.opencontainers.image.ref.name': '1.0' } })]);
  });

  it('copies a two-platform index with its referrer between repositories by mounting, and one platform alone', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const src = join(await tempDir(), 'src');
    const { index, images, referrer } = await writeIndexLayout(src, 'multi');
    const c = client();
    const a = parseImageReference(`${host}/team/a:multi`);
    await copyImage(layoutSource(src, 'multi'), registrySink(c, a));
    await copyImage(layoutSource(src, 'multi-sbom'), registrySink(c, { ...a, tag: undefined, digest: referrer.digest as never }));
    expect((await listReferrers(c, a, images[0]!.digest as never)).map((d) => d.digest)).toEqual([referrer.digest]);

    const b = parseImageReference(`${host}/team/b:copy`);
    const copied = await copyImage(registrySource(c, a), registrySink(c, b), { referrers: true });
    expect(copied.digest).toBe(index.digest);
    expect(copied.blobs.mounted).toBeGreaterThan(0);
    expect(copied.blobs.uploaded).toBe(0);
    expect(copied.referrers).toBe(1);
    expect((await listReferrers(c, b, images[0]!.digest as never)).map((d) => d.digest)).toEqual([referrer.digest]);

    const one = parseImageReference(`${host}/team/c:arm`);
    const picked = await copyImage(registrySource(c, a), registrySink(c, one), { platform: { os: 'linux', architecture: 'arm64' } });
    expect(picked.digest).toBe(images[1]!.digest);
    expect((await c.getManifest(one)).digest).toBe(images[1]!.digest);
  });

  it('answers a missing tag, a missing repository and a refused connection with typed errors', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const c = client();
    await expect(c.getManifest(parseImageReference(`${host}/team/none:1.0`))).rejects.toMatchObject({ status: 404, registryCode: expect.stringMatching(/UNKNOWN/) });
    expect(await c.headManifest(parseImageReference(`${host}/team/none:1.0`))).toBeUndefined();
    const closed = client();
    await expect(closed.ping('127.0.0.1:1')).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
    await expect(closed.ping('no-such-host.invalid')).rejects.toBeInstanceOf(ClientError);
  });

  it('streams a blob verified, and deletes a manifest', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src);
    await writeLayoutIndex(src, [manifest]);
    const c = client();
    const ref = parseImageReference(`${host}/team/d:1`);
    await copyImage(layoutSource(src), registrySink(c, ref));
    const chunks: Buffer[] = [];
    for await (const chunk of fetchBlob(c, ref, layers[0] as never)) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(layers[0]!.digest);
    const wrong = { ...layers[0]!, digest: sha256('other') } as never;
    await expect(async () => {
      for await (const _ of fetchBlob(c, ref, wrong)) void _;
    }).rejects.toMatchObject({ status: 404 });
    await c.deleteManifest({ ...ref, tag: undefined, digest: manifest.digest as never });
    expect(await c.headManifest(ref)).toBeUndefined();
    await expect(stat(join(src, 'index.json'))).resolves.toBeTruthy();
  });

  it('wharf copy within one registry says how many blobs were mounted and already there, not only "0 blobs transferred"', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const src = join(await tempDir(), 'src');
    const { manifest } = await writeImage(src);
    await writeLayoutIndex(src, [manifest]);
    await copyImage(layoutSource(src), registrySink(client(), parseImageReference(`${host}/team/one:1`)));
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    try {
      await copy(`${host}/team/one:1`, `${host}/team/two:1`, {});
      await copy(`${host}/team/one:1`, `${host}/team/two:2`, {});
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toMatch(/: 0 blobs transferred \(0 B\), 0 already there, 2 mounted in /);
    expect(written.join('')).toMatch(/: 0 blobs transferred \(0 B\), 2 already there, 0 mounted in /);
  });

  it('pull --platform of a single-platform image of another platform pulls it as it is and warns (crane and regctl pull it; docker refuses)', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const src = join(await tempDir(), 'src');
    const { manifest } = await writeImage(src, { platform: { os: 'linux', architecture: 'amd64' } });
    await writeLayoutIndex(src, [manifest]);
    const c = client();
    const ref = parseImageReference(`${host}/team/single:1`);
    await copyImage(layoutSource(src), registrySink(c, ref));

    const other = await copyImage(registrySource(c, ref), layoutSink(join(await tempDir(), 'arm'), '1'), { platform: { os: 'linux', architecture: 'arm64' } });
    expect(other.digest).toBe(manifest.digest);
    expect(other.platformMismatch).toEqual({ wanted: 'linux/arm64', actual: 'linux/amd64' });
    const same = await copyImage(registrySource(c, ref), layoutSink(join(await tempDir(), 'amd'), '1'), { platform: { os: 'linux', architecture: 'amd64' } });
    expect(same.platformMismatch).toBeUndefined();

    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    try {
      await pull(`${host}/team/single:1`, join(await tempDir(), 'out'), { platform: 'linux/arm64' });
      await pull(`${host}/team/single:1`, join(await tempDir(), 'quiet'), { platform: 'linux/arm64', quiet: true });
    } finally {
      spy.mockRestore();
    }
    const warnings = written.join('').split('\n').filter((l) => l.includes('warning'));
    expect(warnings).toEqual([`wharf: warning: ${host}/team/single:1 is a single-platform image for linux/amd64, not an index: --platform linux/arm64 matched nothing and the image was copied as it is`]);
  });
});

describe('layout sink', () => {
  it('leaves nothing at the destination when the source fails', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src);
    await writeLayoutIndex(src, [manifest]);
    await rm(join(src, 'blobs', 'sha256', layers[0]!.digest.slice(7)));
    const out = join(await tempDir(), 'out');
    await expect(copyImage(layoutSource(src), layoutSink(out, 'x'))).rejects.toThrow();
    await expect(stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(out, '..'))).toEqual([]);
  });

  it('fails, rather than spinning, where a folder cannot be made (Node\'s recursive mkdir loops on /proc)', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest } = await writeImage(src);
    await writeLayoutIndex(src, [manifest]);
    await expect(copyImage(layoutSource(src), layoutSink('/proc/wharf-out', 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 10_000);

  it('into an existing layout, an aborted copy removes the blobs it added and keeps those that were there', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src, { layers: [1000, 2000, 3000] });
    await writeLayoutIndex(src, [manifest]);
    const out = join(await tempDir(), 'out');
    const before = await writeImage(out);
    await writeLayoutIndex(out, [before.manifest]);
    await copyFile(join(src, 'blobs', 'sha256', layers[0]!.digest.slice(7)), join(out, 'blobs', 'sha256', layers[0]!.digest.slice(7)));
    const present = (await readdir(join(out, 'blobs', 'sha256'))).sort();
    const index = await readFile(join(out, 'index.json'), 'utf8');
    await rm(join(src, 'blobs', 'sha256', layers[2]!.digest.slice(7)));
    await expect(copyImage(layoutSource(src), layoutSink(out, 'x'), { jobs: 1 })).rejects.toThrow();
    expect((await readdir(join(out, 'blobs', 'sha256'))).sort().join(' ')).toBe(present.join(' '));
    expect(await readFile(join(out, 'index.json'), 'utf8')).toBe(index);
  });

  it('reuses a blob already in the layout only when its digest checks out, not its size alone', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src, { layers: [4096] });
    await writeLayoutIndex(src, [manifest]);
    const out = join(await tempDir(), 'out');
    await writeLayoutIndex(out, []);
    const existing = join(out, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    await mkdir(join(out, 'blobs', 'sha256'), { recursive: true });
    await writeFile(existing, Buffer.alloc(4096, 7));
    const copied = await copyImage(layoutSource(src), layoutSink(out, 'x'));
    expect(copied.blobs).toMatchObject({ uploaded: 2, exists: 0 });
    expect(sha256(await readFile(existing))).toBe(layers[0]!.digest);
  });
});
