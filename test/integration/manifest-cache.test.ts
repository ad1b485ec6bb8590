/**
 * The in-process cache of manifest bytes (src/registry/manifest-cache.ts) never answers for a
 * manifest that is gone: a delete through another process sharing the storage, or a repository that
 * never had the manifest, is seen on the next request.
 */
import { pino } from 'pino';
import supertest from 'supertest';
import { expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { forEachDriver, pushImage, type TestRegistry } from './harness.js';

/** A second app over the same storage, as a second `wharf serve` process would be (its own cache). */
function otherProcess(registry: TestRegistry) {
  const storage = registry.driver instanceof FilesystemDriver ? new FilesystemDriver(registry.driver.root) : registry.driver;
  return supertest(createApp({ config: registry.config, storage, logger: pino({ level: 'silent' }) }));
}

forEachDriver((make) => {
  it('a manifest deleted by another process is not served from the cache (GET and HEAD, by tag and digest)', async () => {
    const registry = await make();
    const image = await pushImage(registry.http, 'cache/one', 'v1');
    for (const reference of ['v1', image.digest]) {
      expect((await registry.http.get(`/v2/cache/one/manifests/${reference}`)).status).toBe(200);
    }
    expect((await otherProcess(registry).delete(`/v2/cache/one/manifests/${image.digest}`)).status).toBe(202);
    for (const reference of ['v1', image.digest]) {
      expect((await registry.http.get(`/v2/cache/one/manifests/${reference}`)).status).toBe(404);
      expect((await registry.http.head(`/v2/cache/one/manifests/${reference}`)).status).toBe(404);
    }
  });

  it('a cached manifest is served only in repositories that hold it', async () => {
    const registry = await make();
    const image = await pushImage(registry.http, 'cache/one', 'v1');
    await pushImage(registry.http, 'cache/two', 'v1');
    expect((await registry.http.get(`/v2/cache/one/manifests/${image.digest}`)).status).toBe(200);
    const res = await registry.http.get(`/v2/cache/two/manifests/${image.digest}`);
    expect(res.status).toBe(404);
    expect(res.body.errors[0].code).toBe('MANIFEST_UNKNOWN');
  });
});
