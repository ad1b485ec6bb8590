/**
 * Cached content is ordinary content for garbage collection and retention: `unpulledfor` evicts
 * cached tags nobody pulled, the next pull fetches them again, and a collection running while a
 * cold pull streams breaks nothing.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventually, pushImage, putManifest, raw, sha256, type Client } from './harness.js';
import { isCached, pull, startCache, startUpstream } from './proxy-harness.js';

const DAY = 24 * 3_600_000;
const MiB = 1024 * 1024;
const upstreamOf = (url: string) => ({ name: 'up', url, prefix: 'up', default: true, tagttl: '1h' });

/** Runs a garbage collection through the admin API and returns its report. */
async function collect(http: Client): Promise<{ tagsDeleted: number; blobsDeleted: number; manifestsDeleted: number }> {
  const started = await http.post('/admin/v1/gc');
  expect(started.status, started.text).toBe(202);
  let record: { state: string; report?: { tagsDeleted: number; blobsDeleted: number; manifestsDeleted: number }; error?: string } = { state: 'running' };
  await eventually(async () => {
    record = (await http.get(`/admin/v1/gc/${started.body.id}`)).body;
    return record.state !== 'running';
  }, 'the collection to end', 20_000);
  expect(record.state, record.error).toBe('succeeded');
  return record.report!;
}

describe('pull-through cache and garbage collection', () => {
  it('retention unpulledfor evicts cached tags not pulled for that long; the next pull fetches them again', async () => {
    const upstream = await startUpstream();
    const old = await pushImage(upstream.http, 'library/old', '1');
    const used = await pushImage(upstream.http, 'library/used', '1');
    const cache = await startCache([upstreamOf(upstream.url)], { extra: { gc: { grace: '0s', retention: [{ name: 'up/**', unpulledfor: '24h', deleteuntagged: true }] } } });
    const pullAll = async (name: string, image: typeof old) => {
      expect((await cache.http.get(`/v2/${name}/manifests/1`)).status).toBe(200);
      for (const b of [image.config, ...image.layers]) {
        expect(sha256((await raw(cache.http.get(`/v2/${name}/blobs/${b.digest}`))).body)).toBe(b.digest);
        await eventually(() => isCached(cache, `/v2/up/${name}/blobs/${b.digest}`), 'the blob to be committed');
      }
    };
    cache.advance(-2 * DAY);
    await pullAll('library/old', old);
    await pullAll('library/used', used);
    cache.advance(2 * DAY);
    await cache.http.head('/v2/library/used/manifests/1'); // pulled again today
    const report = await collect(cache.http);
    expect([report.tagsDeleted, report.manifestsDeleted]).toEqual([1, 1]);
    expect(report.blobsDeleted).toBe(1 + 1 + old.layers.length);
    expect((await cache.http.get('/v2/up/library/used/manifests/1')).headers['cache-status']).toBe('Wharf; hit');
    const gets = upstream.count('GET', /\/v2\/library\/old\//);
    await pullAll('library/old', old);
    expect(upstream.count('GET', /\/v2\/library\/old\//)).toBe(gets + 2 + old.layers.length);
  });

  it('a collection while a cold pull streams breaks nothing, and keeps what the pull cached', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/big', '1', { layers: 1 });
    const big = randomBytes(4 * MiB);
    const layer = { ...image.layers[0]!, bytes: big, digest: sha256(big), size: big.length };
    // an image whose one layer is 4 MiB, pushed under tag 2
    const started = await upstream.http.post('/v2/library/big/blobs/uploads/');
    await upstream.http.put(`${started.headers.location}?digest=${layer.digest}`).set('Content-Type', 'application/octet-stream').send(big).expect(201);
    const manifest = JSON.parse(image.body.toString()) as { layers: { digest: string; size: number }[] };
    manifest.layers[0] = { ...manifest.layers[0]!, digest: layer.digest, size: layer.size };
    const body = Buffer.from(JSON.stringify(manifest));
    expect((await putManifest(upstream.http, 'library/big', '2', body, image.mediaType)).status).toBe(201);
    let release!: () => void;
    upstream.faults.set(layer.digest, { holdAt: MiB, release: new Promise<void>((r) => (release = r)), times: 1 });
    const cache = await startCache([upstreamOf(upstream.url)], { driver: 'filesystem', extra: { gc: { grace: '0s', deleteuntagged: true } } });
    expect((await cache.http.get('/v2/library/big/manifests/2')).status).toBe(200);
    let firstChunk!: () => void;
    const streaming = new Promise<void>((r) => (firstChunk = r));
    const pulled = pull(cache, `/v2/library/big/blobs/${layer.digest}`, { onFirstByte: firstChunk });
    await streaming;
    await collect(cache.http);
    release();
    expect(await pulled).toEqual({ digest: layer.digest, bytes: layer.size });
    await eventually(() => isCached(cache, `/v2/up/library/big/blobs/${layer.digest}`), 'the blob to be committed');
    await collect(cache.http);
    const again = await raw(cache.http.get(`/v2/library/big/blobs/${layer.digest}`));
    expect([again.headers['cache-status'], sha256(again.body)]).toEqual(['Wharf; hit', layer.digest]);
    expect(upstream.count('GET', new RegExp(layer.digest))).toBe(1);
  });
});
