/**
 * The admin index's walk takes configs' and layers' sizes from stored manifests' descriptors
 * (src/registry/admin-index/scan.ts): whatever a client can push, the totals after a restart without
 * the `_index` snapshot equal the totals before it (computed naively from the storage in
 * index-helpers.ts). Breaker cases of that trust: an image index whose body also carries `config` and
 * `layers` (the push parses it as an index and checks no blob's size), zero-byte layers, the empty
 * `{}` config of artifacts, a referrer with `subject`, a foreign layer with `urls`, repeated layers.
 */
import { describe, expect, it } from 'vitest';
import { adminIndexOf } from '../../src/registry/admin-index/admin-index-of.js';
import * as layout from '../../src/storage/layout.js';
import { EMPTY_JSON, EMPTY_JSON_DIGEST, MEDIA, encodeManifest, forEachDriver, pushBlob, pushImage, putManifest, type Client, type TestRegistry } from './harness.js';
import { expectExact } from './index-helpers.js';

type Registry = TestRegistry;

/** Stops the index, removes its snapshot, restarts: the new process builds its index by a walk. */
async function restartWithoutSnapshot(registry: Registry): Promise<Registry> {
  await adminIndexOf(registry.driver).stop();
  await registry.driver.delete(layout.indexSnapshot());
  const next = await registry.restart();
  return next;
}

/** PUTs `manifest` (encoded) and asserts 201. */
async function put(http: Client, name: string, reference: string, manifest: object, contentType?: string): Promise<void> {
  const res = await putManifest(http, name, reference, encodeManifest(manifest), contentType);
  expect(res.status, res.text).toBe(201);
}

forEachDriver((make) => {
  describe('the admin index walk, sizes from descriptors', () => {
    it('an image index whose body also carries config and layers with wrong sizes: the walk counts the stored sizes', async () => {
      let registry = await make();
      const image = await pushImage(registry.http, 'team/app', 'v1', { layers: 1 });
      const layer = image.layers[0]!;
      // an index's push checks its children only; `config` and `layers` in its body are not read by the push
      await put(registry.http, 'team/app', 'idx', {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [image.descriptor],
        config: { mediaType: MEDIA.ociConfig, digest: image.config.digest, size: image.config.size + 1000 },
        layers: [{ mediaType: MEDIA.ociLayer, digest: layer.digest, size: layer.size + 5_000_000 }],
      });
      const orphan = await pushBlob(registry.http, 'team/other');
      await put(registry.http, 'team/other', 'idx', {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [],
        layers: [{ mediaType: MEDIA.ociLayer, digest: orphan.digest, size: 7 }],
      });
      await expectExact(registry.http, registry.driver, 'pushes');
      registry = await restartWithoutSnapshot(registry);
      await expectExact(registry.http, registry.driver, 'walk');
    });

    it('zero-byte layers, the empty config, repeated layers, a referrer and a foreign layer: the same totals after a walk', async () => {
      let registry = await make();
      const { http } = registry;
      const empty = await pushBlob(http, 'art/x', Buffer.alloc(0));
      await pushBlob(http, 'art/x', EMPTY_JSON);
      const payload = await pushBlob(http, 'art/x');
      const emptyConfig = { mediaType: MEDIA.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2 };
      const zero = { mediaType: MEDIA.ociLayer, digest: empty.digest, size: 0 };
      const payloadLayer = { mediaType: 'application/vnd.example.payload', digest: payload.digest, size: payload.size };
      await put(http, 'art/x', 'zeros', { schemaVersion: 2, mediaType: MEDIA.ociManifest, config: emptyConfig, layers: [zero, zero, payloadLayer, zero, emptyConfig] });
      const subject = await pushImage(http, 'art/x', 'img', { layers: 2 });
      await put(http, 'art/x', 'sig', {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/vnd.example.sig',
        config: emptyConfig,
        layers: [payloadLayer],
        subject: subject.descriptor,
      });
      const foreign = await pushBlob(http, 'art/x'); // a non-distributable layer pushed anyway, described with URLs and a size the push does not check
      await put(http, 'art/x', 'foreign', {
        schemaVersion: 2,
        mediaType: MEDIA.dockerManifest,
        config: { mediaType: MEDIA.dockerConfig, digest: subject.config.digest, size: subject.config.size },
        layers: [
          { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: foreign.digest, size: foreign.size + 99, urls: ['https://example.com/f'] },
          { mediaType: MEDIA.dockerLayer, digest: subject.layers[0]!.digest, size: subject.layers[0]!.size },
        ],
      });
      await pushBlob(http, 'orphans');
      await expectExact(http, registry.driver, 'pushes');
      registry = await restartWithoutSnapshot(registry);
      await expectExact(registry.http, registry.driver, 'walk');
    });
  });
});
