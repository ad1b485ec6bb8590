/**
 * Layer prefetch (`proxy.prefetch: true`; off by default): a cold pull's image manifest starts the fetch of
 * its config and layers at once, through the fills the clients' blob GETs join (one upstream GET per
 * blob); an index prefetches nothing until a child is pulled; without it a blob is fetched only
 * when a client asks for it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventually, MEDIA, pushImage, pushIndex } from './harness.js';
import { isCached, pull, startCache, startUpstream } from './proxy-harness.js';

const upstreamOf = (url: string) => ({ name: 'up', url, prefix: 'up', default: true });
const accept = { Accept: `${MEDIA.ociManifest}, ${MEDIA.ociIndex}, ${MEDIA.dockerManifest}, ${MEDIA.dockerList}` };

describe('pull-through layer prefetch', () => {
  it('fetches an image’s config and layers when its manifest is fetched cold, once each', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/app', 'latest', { layers: 4 });
    const cache = await startCache([upstreamOf(upstream.url)], { prefetch: true });
    expect((await cache.http.get('/v2/up/library/app/manifests/latest').set(accept)).status).toBe(200);
    const blobs = [image.config, ...image.layers];
    for (const blob of blobs) await eventually(() => isCached(cache, `/v2/up/library/app/blobs/${blob.digest}`), `blob ${blob.digest} to be prefetched`);
    expect(upstream.count('GET', /\/blobs\//)).toBe(blobs.length);
    for (const blob of blobs) expect(await pull(cache, `/v2/up/library/app/blobs/${blob.digest}`)).toEqual({ digest: blob.digest, bytes: blob.size });
    expect(upstream.count('GET', /\/blobs\//)).toBe(blobs.length);
    // a warm pull of the tag prefetches nothing more
    expect((await cache.http.get('/v2/up/library/app/manifests/latest').set(accept)).headers['cache-status']).toBe('Wharf; hit');
    await sleep(100);
    expect(upstream.count('GET', /\/blobs\//)).toBe(blobs.length);
  });

  it('prefetches nothing for an index, and a child’s blobs when the child is pulled', async () => {
    const upstream = await startUpstream();
    const { index, children } = await pushIndex(upstream.http, 'library/multi', 'latest', 2);
    const cache = await startCache([upstreamOf(upstream.url)], { prefetch: true });
    expect((await cache.http.get('/v2/up/library/multi/manifests/latest').set(accept)).headers['docker-content-digest']).toBe(index.digest);
    await sleep(200);
    expect(upstream.count('GET', /\/blobs\//)).toBe(0);
    const child = children[0]!;
    expect((await cache.http.get(`/v2/up/library/multi/manifests/${child.digest}`).set(accept)).status).toBe(200);
    for (const blob of [child.config, ...child.layers]) await eventually(() => isCached(cache, `/v2/up/library/multi/blobs/${blob.digest}`), 'the child’s blobs to be prefetched');
    expect(upstream.count('GET', /\/blobs\//)).toBe(1 + child.layers.length);
  });

  it('without prefetch (the default), fetches a blob only when a client asks for it', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/app', 'latest', { layers: 2 });
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect((await cache.http.get('/v2/up/library/app/manifests/latest').set(accept)).status).toBe(200);
    await sleep(200);
    expect(upstream.count('GET', /\/blobs\//)).toBe(0);
    expect(await pull(cache, `/v2/up/library/app/blobs/${image.layers[0]!.digest}`)).toEqual({ digest: image.layers[0]!.digest, bytes: image.layers[0]!.size });
    expect(upstream.count('GET', /\/blobs\//)).toBe(1);
  });
});
