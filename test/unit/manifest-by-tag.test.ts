/**
 * A manifest GET by tag (src/registry/manifests.ts): the tag names the digest and the media type, so
 * with the bytes in the process's cache the tag is the only read of storage (one S3 request). The tag
 * still decides existence: a deleted manifest (its tags go first) is not served, whatever the cache holds;
 * a tag written before tags named their media type, and a process that has not cached the bytes, read the
 * revision as before.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digestBytes, parseDigest, type Digest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { Registry } from '../../src/registry/registry.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const A = 'team/a' as RepositoryName;
const V1 = 'v1' as Tag;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A memory driver that logs the paths it reads (getContent and stat). */
class ReadLog extends MemoryDriver {
  readonly reads: string[] = [];
  override async getContent(path: string): Promise<Buffer> {
    this.reads.push(path);
    return super.getContent(path);
  }
  override async stat(path: string) {
    this.reads.push(path);
    return super.stat(path);
  }
}

async function pushImage(registry: Registry): Promise<{ digest: Digest; body: Buffer }> {
  const blobs: Digest[] = [];
  for (let i = 0; i < 2; i++) {
    const bytes = randomBytes(48);
    const digest = digestBytes(bytes);
    const session = await registry.uploads.create(A);
    await registry.uploads.commit(A, session.id, parseDigest(digest), Readable.from([bytes]));
    blobs.push(digest);
  }
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: 48 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[1], size: 48 }],
    }),
  );
  const { digest } = await registry.manifests.put(A, { tag: V1 }, body, OCI_MANIFEST);
  return { digest, body };
}

describe('manifest GET by tag', () => {
  it('reads the tag alone when the bytes are cached; a second process reads the revision once, then the tag alone', async () => {
    const driver = new ReadLog();
    const registry = new Registry(driver);
    const { digest, body } = await pushImage(registry);
    driver.reads.length = 0;
    const got = await registry.manifests.get(A, { tag: V1 });
    expect(got).toEqual({ digest, mediaType: OCI_MANIFEST, body });
    expect(driver.reads).toEqual([layout.tag(A, V1)]);

    const other = new Registry(driver); // another process on the same storage: nothing cached
    driver.reads.length = 0;
    expect((await other.manifests.get(A, { tag: V1 })).body).toEqual(body);
    expect(driver.reads).toEqual([layout.tag(A, V1), layout.manifestRevision(A, digest), layout.blobData(digest)]);
    driver.reads.length = 0;
    expect((await other.manifests.get(A, { tag: V1 })).mediaType).toBe(OCI_MANIFEST);
    expect(driver.reads).toEqual([layout.tag(A, V1)]);
  });

  it('a manifest deleted by digest (in another process) is not served by tag from the cache', async () => {
    const driver = new ReadLog();
    const registry = new Registry(driver);
    const { digest } = await pushImage(registry);
    await new Registry(driver).manifests.delete(A, { digest: parseDigest(digest) });
    const err = await registry.manifests.get(A, { tag: V1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).code).toBe('MANIFEST_UNKNOWN');
  });

  it('a tag without a media type (written before tags had one) is served through the revision', async () => {
    const driver = new ReadLog();
    const registry = new Registry(driver);
    const { digest, body } = await pushImage(registry);
    await driver.putContent(layout.tag(A, V1), JSON.stringify({ digest, pushedAt: new Date().toISOString() }));
    driver.reads.length = 0;
    expect(await registry.manifests.get(A, { tag: V1 })).toEqual({ digest, mediaType: OCI_MANIFEST, body });
    expect(driver.reads).toEqual([layout.tag(A, V1), layout.manifestRevision(A, digest)]);
  });
});
