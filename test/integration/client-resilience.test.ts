/**
 * The client's resume paths against the real Wharf app behind a proxy that cuts connections: a
 * chunked upload cut mid-PATCH continues from the registry's offset (the bytes the registry received
 * stay close to the blob's size), a pull cut mid-blob continues with Range, and a registry that
 * answers bytes of the wrong digest leaves nothing at the destination.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { copyImage, layoutSink, layoutSource, parseImageReference, RegistryClient, registrySink, registrySource } from '../../src/client/index.js';
import { forEachDriver } from './harness.js';
import { startCuttingProxy, type CuttingProxy } from '../support/cutting-proxy.js';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wharf-client-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

async function proxyTo(url: string): Promise<CuttingProxy> {
  const proxy = await startCuttingProxy(new URL(url).host);
  cleanups.push(() => proxy.close());
  return proxy;
}

function client(options: ConstructorParameters<typeof RegistryClient>[0] = {}): RegistryClient {
  const c = new RegistryClient({ retry: { retries: 3, baseDelayMs: 20 }, ...options });
  cleanups.push(() => c.close());
  return c;
}

forEachDriver((make) => {
  it('resumes a chunked upload cut mid-PATCH from the registry offset instead of restarting', async () => {
    const reg = await make();
    const proxy = await proxyTo(reg.url);
    const src = join(await tempDir(), 'src');
    const { manifest } = await writeImage(src, { layers: [12 * MiB] });
    await writeLayoutIndex(src, [manifest]);
    const c = client({ chunkSize: 4 * MiB, monolithicMax: MiB });
    proxy.cutUpload(6 * MiB);
    const result = await copyImage(layoutSource(src), registrySink(c, parseImageReference(`${proxy.host}/team/big:1`)));
    expect(result.blobs.uploaded).toBe(2);
    // a restart from zero would send at least 12 + 6 MiB; a resume re-sends at most the chunk the registry lost
    expect(proxy.sentToRegistry()).toBeLessThan(12 * MiB + 4 * MiB + MiB);
    expect(proxy.sentToRegistry()).toBeGreaterThan(12 * MiB);
  });

  it('resumes a pull cut mid-blob with Range', async () => {
    const reg = await make();
    const src = join(await tempDir(), 'src');
    const { manifest } = await writeImage(src, { layers: [6 * MiB] });
    await writeLayoutIndex(src, [manifest]);
    const direct = client();
    await copyImage(layoutSource(src), registrySink(direct, parseImageReference(`${new URL(reg.url).host}/team/pull:1`)));
    const proxy = await proxyTo(reg.url);
    proxy.cutDownload(3 * MiB);
    const out = join(await tempDir(), 'out');
    const c = client();
    const pulled = await copyImage(registrySource(c, parseImageReference(`${proxy.host}/team/pull:1`)), layoutSink(out, '1', { parallelThreshold: Infinity }));
    expect(pulled.digest).toBe(manifest.digest);
  });
});

describe('a registry that sends the wrong bytes', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  });

  it('fails the pull with DIGEST_MISMATCH and leaves nothing at the destination', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src);
    const { readFile } = await import('node:fs/promises');
    const manifestBytes = await readFile(join(src, 'blobs', 'sha256', manifest.digest.slice(7)));
    server = createServer((req, res) => {
      if (req.url?.includes('/manifests/')) {
        res.writeHead(200, { 'content-type': manifest.mediaType, 'docker-content-digest': manifest.digest });
        return res.end(manifestBytes);
      }
      const digest = req.url!.split('/blobs/')[1]!;
      const size = digest === layers[0]!.digest ? layers[0]!.size : 0;
      if (digest !== layers[0]!.digest) {
        return void readFile(join(src, 'blobs', 'sha256', digest.slice(7))).then((b) => res.writeHead(200, { 'content-length': b.length }).end(b));
      }
      res.writeHead(200, { 'content-length': size });
      res.end(Buffer.alloc(size, 7));
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const parent = await tempDir();
    const out = join(parent, 'out');
    await expect(copyImage(registrySource(client(), parseImageReference(`${host}/team/bad:1`)), layoutSink(out, '1'))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(await readdir(parent)).toEqual([]);
  });

  async function hostile(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('gives up on a registry that cuts every blob answer after a few bytes, instead of resuming for ever', async () => {
    const src = join(await tempDir(), 'src');
    const { manifest, layers } = await writeImage(src, { layers: [MiB] });
    const { readFile } = await import('node:fs/promises');
    let blobGets = 0;
    const host = await hostile((req, res) => {
      const [, kind, ref] = /\/(manifests|blobs)\/(.+)$/.exec(req.url!)!;
      const digest = kind === 'manifests' ? manifest.digest : ref!;
      void readFile(join(src, 'blobs', 'sha256', digest.slice(7))).then((bytes) => {
        if (kind === 'manifests') return res.writeHead(200, { 'content-type': manifest.mediaType, 'docker-content-digest': digest }).end(bytes);
        if (digest === layers[0]!.digest) blobGets++;
        const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
        const part = bytes.subarray(from);
        res.writeHead(from ? 206 : 200, { 'content-length': part.length, ...(from ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}) });
        if (digest !== layers[0]!.digest) return res.end(part);
        res.write(part.subarray(0, 1000), () => res.destroy()); // progress every time, never the whole
      });
    });
    const parent = await tempDir();
    const c = client({ retry: { retries: 3, baseDelayMs: 1 } });
    const err = await copyImage(registrySource(c, parseImageReference(`${host}/team/cut:1`)), layoutSink(join(parent, 'out'), '1', { parallelThreshold: Infinity })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/was cut \d+ times/) });
    expect(blobGets).toBeLessThanOrEqual(10);
    expect(await readdir(parent)).toEqual([]);
  });

  it('stops a redirect loop with an error that says so', async () => {
    let requests = 0;
    const host = await hostile((req, res) => {
      requests++;
      res.writeHead(307, { location: req.url }).end();
    });
    const err = await client()
      .getManifest(parseImageReference(`${host}/team/loop:1`))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/redirect/) });
    expect(requests).toBeLessThan(10);
  });

  it('refuses a manifest past the size limit with an error naming the reference', async () => {
    const host = await hostile((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(Buffer.alloc(5 * MiB, 0x20));
    });
    const err = await client()
      .getManifest(parseImageReference(`${host}/team/huge:1`))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(new RegExp(`^${host}/team/huge:1: .*larger than 4 MiB`)) });
  });
});
