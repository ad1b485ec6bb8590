/**
 * The pull-through cache's routing (docs/proxy.md "Routing"): a path prefix, containerd's `?ns=`,
 * the default upstream for names the team has not pushed, the team's own repositories beside the
 * cache on one instance, and pushes under a prefix refused with the upstream's name.
 */
import { describe, expect, it } from 'vitest';
import { eventually, expectError, MEDIA, pushBlob, pushImage, pushIndex, raw, sha256 } from './harness.js';
import { isCached, startCache, startUpstream } from './proxy-harness.js';

const upstreamOf = (url: string, more: Record<string, unknown> = {}) => ({ name: 'up', url, prefix: 'up', default: true, ...more });

describe('pull-through routing', () => {
  it('serves an image under the upstream prefix byte for byte, storing it as an ordinary repository', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'team/base', '1.0');
    const cache = await startCache([upstreamOf(upstream.url)]);
    const manifest = await raw(cache.http.get('/v2/up/team/base/manifests/1.0'));
    expect(manifest.status).toBe(200);
    expect(manifest.body.equals(image.body)).toBe(true);
    expect(manifest.headers['content-type']).toBe(MEDIA.ociManifest);
    expect(manifest.headers['docker-content-digest']).toBe(image.digest);
    expect(manifest.headers['cache-status']).toBe('Wharf; fwd=miss; stored');
    for (const blob of [image.config, ...image.layers]) {
      const got = await raw(cache.http.get(`/v2/up/team/base/blobs/${blob.digest}`));
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(blob.digest);
      await eventually(() => isCached(cache, `/v2/up/team/base/blobs/${blob.digest}`), 'the blob to be committed');
    }
    // now cached: nothing more reaches the upstream
    const before = upstream.requests.length;
    expect((await cache.http.get('/v2/up/team/base/manifests/1.0')).headers['cache-status']).toBe('Wharf; hit');
    expect((await raw(cache.http.get(`/v2/up/team/base/blobs/${image.layers[0]!.digest}`))).headers['cache-status']).toBe('Wharf; hit');
    expect(upstream.requests.length).toBe(before);
    // an ordinary repository of the registry
    expect((await cache.http.get('/v2/_catalog')).body.repositories).toEqual(['up/team/base']);
  });

  it('routes by ?ns= (containerd) and by the default upstream (dockerd registry-mirrors) into the same cache repository', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/busybox', 'latest');
    const cache = await startCache([upstreamOf(upstream.url, { namespaces: ['docker.io'] })]);
    const byNs = await cache.http.get('/v2/library/busybox/manifests/latest?ns=docker.io');
    expect(byNs.status).toBe(200);
    expect(byNs.headers['docker-content-digest']).toBe(image.digest);
    const byDefault = await cache.http.get('/v2/library/busybox/manifests/latest');
    expect(byDefault.headers['cache-status']).toBe('Wharf; hit');
    // Docker Hub naming: a one-component name under the prefix means library/<name>
    expect((await cache.http.get('/v2/up/busybox/manifests/latest')).headers['cache-status']).toBe('Wharf; hit');
    expect((await cache.http.get('/v2/_catalog')).body.repositories).toEqual(['up/library/busybox']);
    // an ns that no upstream claims is never sent to another registry's upstream
    expectError(await cache.http.get('/v2/library/busybox/manifests/latest?ns=quay.io'), 404, 'NAME_UNKNOWN');
  });

  it('serves the team\'s pushed repositories on the same instance; they win over the default upstream', async () => {
    const upstream = await startUpstream();
    await pushImage(upstream.http, 'team/app', 'v1');
    const cache = await startCache([upstreamOf(upstream.url)]);
    const own = await pushImage(cache.http, 'team/app', 'v1');
    const got = await cache.http.get('/v2/team/app/manifests/v1');
    expect(got.headers['docker-content-digest']).toBe(own.digest);
    expect(got.headers['cache-status']).toBeUndefined();
    expectError(await cache.http.get('/v2/team/app/manifests/v2'), 404, 'MANIFEST_UNKNOWN');
    expect(upstream.count('GET', /\/v2\/team\/app\/manifests/)).toBe(0);
  });

  it('a push under an upstream prefix is 405 UNSUPPORTED naming the upstream; a push elsewhere works', async () => {
    const upstream = await startUpstream();
    const cache = await startCache([upstreamOf(upstream.url)]);
    const refused = await cache.http.post('/v2/up/team/app/blobs/uploads/');
    expect(expectError(refused, 405, 'UNSUPPORTED')).toContain(`upstream up (${upstream.url})`);
    expectError(await cache.http.put('/v2/up/team/app/manifests/v1').set('Content-Type', MEDIA.ociManifest).send('{}'), 405, 'UNSUPPORTED');
    await pushBlob(cache.http, 'mine/app');
  });

  it('a blob HEAD of a name only the default upstream has is answered by the team\'s repository alone (a push checks it)', async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'team/app', 'v1');
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect((await cache.http.head(`/v2/team/app/blobs/${image.layers[0]!.digest}`)).status).toBe(404);
    // under the prefix, a HEAD asks the upstream without fetching the blob
    const head = await cache.http.head(`/v2/up/team/app/blobs/${image.layers[0]!.digest}`);
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(image.layers[0]!.size);
    expect(upstream.count('GET', /\/blobs\//)).toBe(0);
  });

  it('caches an index as served and each child when it is pulled', async () => {
    const upstream = await startUpstream();
    const { index, children } = await pushIndex(upstream.http, 'library/multi', 'latest', 2, MEDIA.dockerList);
    const cache = await startCache([upstreamOf(upstream.url)]);
    const got = await raw(cache.http.get('/v2/up/library/multi/manifests/latest'));
    expect(got.body.equals(index.body)).toBe(true);
    expect(got.headers['content-type']).toBe(MEDIA.dockerList);
    const revisions = () => cache.driver.list('/repositories/up/library/multi/_manifests/revisions/sha256');
    expect(await revisions()).toEqual([index.digest.slice(7)]);
    const child = await raw(cache.http.get(`/v2/up/library/multi/manifests/${children[0]!.digest}`));
    expect(child.headers['cache-status']).toBe('Wharf; fwd=miss; stored');
    expect(child.body.equals(children[0]!.body)).toBe(true);
    expect((await revisions()).sort()).toEqual([index.digest.slice(7), children[0]!.digest.slice(7)].sort());
  });
});

describe('pull-through listings and limits', () => {
  it("lists the upstream's tags and proxies the referrers of a cached manifest", async () => {
    const upstream = await startUpstream();
    const image = await pushImage(upstream.http, 'library/app', 'v1');
    await pushImage(upstream.http, 'library/app', 'v2');
    const signature = await pushImage(upstream.http, 'library/app', undefined, { artifactType: 'application/vnd.example.sig', subject: image.descriptor, layers: 1 });
    const cache = await startCache([upstreamOf(upstream.url)]);
    expect((await cache.http.get('/v2/up/library/app/tags/list')).body).toEqual({ name: 'up/library/app', tags: ['v1', 'v2'] });
    const page = await cache.http.get('/v2/up/library/app/tags/list?n=1');
    expect([page.body.tags, page.headers.link]).toEqual([['v1'], '</v2/up/library/app/tags/list?n=1&last=v1>; rel="next"']);
    expect((await cache.http.get('/v2/up/library/app/manifests/v1')).status).toBe(200);
    const referrers = await cache.http.get(`/v2/up/library/app/referrers/${image.digest}`);
    expect(referrers.status).toBe(200);
    expect(JSON.parse(referrers.text).manifests.map((d: { digest: string }) => d.digest)).toEqual([signature.digest]);
    expectError(await cache.http.get('/v2/up/library/none/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('keeps at most maxconnections requests in flight to an upstream; the others wait', async () => {
    const upstream = await startUpstream();
    const blobs = await Promise.all(Array.from({ length: 4 }, (_, i) => pushBlob(upstream.http, 'library/app', Buffer.alloc(2 * 1024 * 1024, i + 1))));
    const cache = await startCache([upstreamOf(upstream.url, { maxconnections: 1 })]);
    const pulled = await Promise.all(blobs.map((b) => raw(cache.http.get(`/v2/up/library/app/blobs/${b.digest}`))));
    for (const [i, p] of pulled.entries()) expect(sha256(p.body)).toBe(blobs[i]!.digest);
    expect(upstream.count('GET', /\/blobs\//)).toBe(4);
    expect(upstream.maxInFlight()).toBe(1);
  });
});
