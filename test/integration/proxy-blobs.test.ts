/**
 * Blobs through the pull-through cache: one upstream GET however many clients pull a cold blob at
 * once (single flight), each client at its own pace, bytes streamed as they arrive, a client that
 * goes away stopping nobody, a cut upstream body resumed, and a body that stays cut or carries
 * wrong bytes never committed.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventually, pushBlob, pushImage, raw, sha256 } from './harness.js';
import { isCached, pull, startCache, startUpstream, type TestCache } from './proxy-harness.js';

const MiB = 1024 * 1024;
const upstreamOf = (url: string) => ({ name: 'up', url, prefix: 'up', default: true });

/** True when the cache stores no blob and holds no upload session. */
async function nothingStored(cache: TestCache): Promise<boolean> {
  return (await cache.driver.list('/blobs/sha256')).length === 0 && (await cache.driver.list('/uploads')).length === 0;
}

describe('pull-through blobs', () => {
  it('20 concurrent cold pulls make one upstream GET, each client at its own pace, and all verify', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(8 * MiB));
    // a window of 512 KiB: most clients fall behind it and finish from storage
    const cache = await startCache([upstreamOf(upstream.url)], { driver: 'filesystem', fillWindowBytes: 512 * 1024 });
    const pulls = await Promise.all(Array.from({ length: 20 }, () => pull(cache, `/v2/up/library/big/blobs/${blob.digest}`)));
    for (const p of pulls) expect(p).toEqual({ digest: blob.digest, bytes: blob.size });
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
    // the clients had every byte once it verified; the commit to storage follows
    await eventually(() => isCached(cache, '/v2/up/library/big/blobs/' + blob.digest), 'the blob to be committed');
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
  });

  it('streams the first bytes before the upstream sent the last; a client that goes away stops nobody', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(4 * MiB));
    let release!: () => void;
    upstream.faults.set(blob.digest, { holdAt: 2 * MiB, release: new Promise<void>((r) => (release = r)), times: 1 });
    const cache = await startCache([upstreamOf(upstream.url)]);
    let firstByte!: () => void;
    const gotFirstByte = new Promise<void>((r) => (firstByte = r));
    const first = pull(cache, `/v2/up/library/big/blobs/${blob.digest}`, { onFirstByte: firstByte });
    await gotFirstByte; // the upstream is holding its body at 2 MiB
    const leaver = pull(cache, `/v2/up/library/big/blobs/${blob.digest}`, { abortAfter: 1 });
    const others = Array.from({ length: 3 }, () => pull(cache, `/v2/up/library/big/blobs/${blob.digest}`));
    expect((await leaver).error).toBeDefined();
    release();
    for (const p of [await first, ...(await Promise.all(others))]) expect(p).toEqual({ digest: blob.digest, bytes: blob.size });
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
  });

  it('the upstream waits for a client that stops reading, then goes on without it; the client still gets the whole blob', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(24 * MiB));
    const cache = await startCache([upstreamOf(upstream.url)], { fillWindowBytes: MiB });
    const fetched = async (): Promise<number> => (await cache.http.get('/admin/v1/cache')).body.upstreams[0].counts.bytesFetched as number;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const duringPause: number[] = [];
    const client = pull(cache, `/v2/up/library/big/blobs/${blob.digest}`, {
      pause: {
        at: MiB,
        during: async () => {
          // paced: once the sockets' buffers are full, the fill stops a window ahead of its only client, and stays there
          for (let i = 0; i < 6 && (duringPause.length < 2 || duringPause.at(-1) !== duringPause.at(-2)); i++) {
            await sleep(250);
            duringPause.push(await fetched());
          }
          // past the stall limit the fill goes on for the cache without it
          await eventually(() => isCached(cache, `/v2/up/library/big/blobs/${blob.digest}`), 'the fill to finish without its stalled client', 20_000);
        },
      },
    });
    expect(await client).toEqual({ digest: blob.digest, bytes: blob.size });
    expect(duringPause.at(-1)).toBe(duringPause.at(-2));
    expect(duringPause.at(-1)).toBeLessThan(blob.size / 2);
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
  });

  it('the fill goes on for the cache when its only client goes away', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(4 * MiB));
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect((await pull(cache, `/v2/up/library/big/blobs/${blob.digest}`, { abortAfter: 1 })).error).toBeDefined();
    await eventually(() => isCached(cache, `/v2/up/library/big/blobs/${blob.digest}`), 'the blob to be cached');
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
  });

  it('resumes a body cut once with a ranged GET, and caches it', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(3 * MiB));
    upstream.faults.set(blob.digest, { cutAt: MiB, times: 1 });
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect(await pull(cache, `/v2/up/library/big/blobs/${blob.digest}`)).toEqual({ digest: blob.digest, bytes: blob.size });
    await eventually(() => isCached(cache, `/v2/up/library/big/blobs/${blob.digest}`), 'the blob to be committed');
  });

  for (const [fault, what] of [
    [{ cutAt: MiB, refuseRanges: true }, 'a body cut that cannot be resumed'],
    [{ flipAt: 2 * MiB }, 'wrong bytes'],
  ] as const) {
    it(`never commits ${what}: the clients see an error, nothing is cached, the next pull succeeds`, async () => {
      const upstream = await startUpstream();
      const blob = await pushBlob(upstream.http, 'library/big', randomBytes(3 * MiB));
      upstream.faults.set(blob.digest, { ...fault });
      const cache = await startCache([upstreamOf(upstream.url)], { driver: 'filesystem' });
      const failed = await Promise.all([0, 1].map(() => pull(cache, `/v2/up/library/big/blobs/${blob.digest}`)));
      for (const f of failed) {
        expect(f.digest).not.toBe(blob.digest);
        expect(f.bytes).toBeLessThan(blob.size);
      }
      await eventually(() => nothingStored(cache), 'the failed fill to be cleaned up');
      expect((await cache.http.get('/admin/v1/cache')).body.upstreams[0].counts.fillFailed).toBe(1);
      upstream.faults.delete(blob.digest);
      expect(await pull(cache, `/v2/up/library/big/blobs/${blob.digest}`)).toEqual({ digest: blob.digest, bytes: blob.size });
      await eventually(() => isCached(cache, `/v2/up/library/big/blobs/${blob.digest}`), 'the blob to be committed');
    });
  }

  it('answers a ranged GET and a HEAD of an uncached blob from the upstream without caching', async () => {
    const upstream = await startUpstream();
    const blob = await pushBlob(upstream.http, 'library/big', randomBytes(MiB));
    const cache = await startCache([upstreamOf(upstream.url)]);
    const part = await raw(cache.http.get(`/v2/up/library/big/blobs/${blob.digest}`).set('Range', 'bytes=100-199'));
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${blob.size}`);
    expect(part.body.equals(blob.bytes.subarray(100, 200))).toBe(true);
    const head = await cache.http.head(`/v2/up/library/big/blobs/${blob.digest}`);
    expect([head.status, Number(head.headers['content-length'])]).toEqual([200, blob.size]);
    expect(await cache.driver.list('/blobs')).toEqual([]);
  });

  it('links a blob already stored for another repository once the upstream confirms it, without fetching it again', async () => {
    const upstream = await startUpstream();
    const shared = randomBytes(MiB);
    const a = await pushImage(upstream.http, 'library/a', '1');
    await pushBlob(upstream.http, 'library/a', shared);
    await pushBlob(upstream.http, 'library/b', shared);
    const cache = await startCache([upstreamOf(upstream.url)]);
    const digest = sha256(shared);
    expect((await raw(cache.http.get(`/v2/up/library/a/blobs/${digest}`))).status).toBe(200);
    await eventually(() => isCached(cache, `/v2/up/library/a/blobs/${digest}`), 'the blob to be committed');
    const linked = await raw(cache.http.get(`/v2/up/library/b/blobs/${digest}`));
    expect([linked.status, sha256(linked.body)]).toEqual([200, digest]);
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
    expect(upstream.count('HEAD', /\/v2\/library\/b\/blobs\//)).toBe(1);
    // a repository the upstream does not have the blob in gets no link
    expect((await cache.http.get(`/v2/up/library/a/blobs/${a.layers[0]!.digest}`)).status).toBe(200);
    expect((await cache.http.get(`/v2/up/library/b/blobs/${a.layers[0]!.digest}`)).status).toBe(404);
  });
});
