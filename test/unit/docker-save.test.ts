/** oci/docker-save.ts: the schema 2 manifest of a `docker save` image, one set of bytes for the client's copy and the server's import. */
import { describe, expect, it } from 'vitest';
import { dockerSaveManifest } from '../../src/oci/docker-save.js';
import type { Digest } from '../../src/oci/digest.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, DOCKER_MANIFEST } from '../../src/oci/media-types.js';

const digest = (c: string) => `sha256:${c.repeat(64)}` as Digest;

describe('dockerSaveManifest', () => {
  it('names the config and each layer file as it is (tar, or tar.gzip when gzip-compressed), indented by 3 as Docker writes it', () => {
    const bytes = dockerSaveManifest({ digest: digest('a'), size: 10, gzip: false }, [
      { digest: digest('b'), size: 20, gzip: false },
      { digest: digest('c'), size: 30, gzip: true },
    ]);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: 10, digest: digest('a') },
      layers: [
        { mediaType: DOCKER_LAYER_TAR, size: 20, digest: digest('b') },
        { mediaType: DOCKER_LAYER_GZIP, size: 30, digest: digest('c') },
      ],
    });
    expect(bytes.toString('utf8')).toMatch(/^\{\n {3}"schemaVersion": 2,\n {3}"mediaType"/);
  });
});
