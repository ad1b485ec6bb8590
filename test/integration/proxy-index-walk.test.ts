/**
 * A pull-through cache stores its upstream's manifests byte for byte, so no push checked their
 * descriptors' sizes: the admin index's walk of a cache (a restart without the `_index` snapshot)
 * stats its blobs instead of taking the sizes an upstream's manifest claims, and its totals stay the
 * storage's. The upstream here holds a manifest whose layer descriptor says 1 MB more than the layer
 * (as CNCF Distribution, which checks no size at push, would store it).
 */
import { pino } from 'pino';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { adminIndexOf } from '../../src/registry/admin-index/admin-index-of.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { MEDIA, TEST_GC_TIMING, encodeManifest, pushBlob, sha256 } from './harness.js';
import { expectExact } from './index-helpers.js';
import { startCache, startUpstream, upstreamApp } from './proxy-harness.js';

describe('the admin index walk of a pull-through cache', () => {
  it("counts a cached layer's stored size, not the size its upstream manifest claims", async () => {
    const storage = new MemoryDriver();
    const { config } = upstreamApp();
    const upstream = await startUpstream({}, { listener: createApp({ config, storage, logger: pino({ level: 'silent' }), gc: TEST_GC_TIMING }), config });
    const cfg = await pushBlob(upstream.http, 'app', Buffer.from('{"architecture":"amd64","os":"linux"}'));
    const layer = await pushBlob(upstream.http, 'app');
    const body = encodeManifest({
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, digest: cfg.digest, size: cfg.size },
      layers: [{ mediaType: MEDIA.ociLayer, digest: layer.digest, size: layer.size + 1_000_000 }],
    });
    const digest = sha256(body) as Digest;
    await storage.putContent(layout.blobData(digest), body);
    await storage.putContent(layout.manifestRevision('app' as RepositoryName, digest), JSON.stringify({ mediaType: MEDIA.ociManifest }));
    await storage.putContent(layout.tag('app' as RepositoryName, 'v1' as Tag), JSON.stringify({ digest, pushedAt: new Date().toISOString(), mediaType: MEDIA.ociManifest }));

    const cache = await startCache([{ name: 'up', url: upstream.url, prefix: 'up', default: true }], { driver: 'filesystem' });
    expect((await cache.http.get('/v2/up/app/manifests/v1').set('Accept', MEDIA.ociManifest)).status).toBe(200);
    for (const d of [cfg.digest, layer.digest]) expect((await cache.http.get(`/v2/up/app/blobs/${d}`)).status).toBe(200);
    await expectExact(cache.http, cache.driver, 'pulled through');

    await adminIndexOf(cache.driver).stop();
    await cache.driver.delete(layout.indexSnapshot());
    const root = (cache.config.storage as { filesystem: { rootdirectory: string } }).filesystem.rootdirectory;
    const driver = new FilesystemDriver(root);
    const http = supertest(createApp({ config: cache.config, storage: driver, logger: pino({ level: 'silent' }), gc: TEST_GC_TIMING }));
    await expectExact(http, driver, 'walk');
    expect(((await http.get('/admin/v1/index')).body as { source: string }).source).toBe('walk');
    await adminIndexOf(driver).stop();
  });
});
