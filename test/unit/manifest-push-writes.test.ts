/**
 * The writes a manifest push skips (src/registry/manifest-push.ts): the revision while it is younger
 * than a quarter of `gc.grace` (and the body names its media type), the tag while it already holds
 * the push (same digest and media type, written less than TAG_REWRITE_MS ago). Each case counts the
 * driver's writes and checks what is stored afterwards; the clock is faked so ages are exact.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GcRun } from '../../src/gc/collector.js';
import { digestBytes, parseDigest, type Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { holdsPush, TAG_REWRITE_MS } from '../../src/registry/manifest-push.js';
import { Registry } from '../../src/registry/registry.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const A = 'team/a' as RepositoryName;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const GRACE_MS = 3_600_000;
const T0 = Date.parse('2026-12-07T12:00:00Z');

/** A memory driver that logs the paths it writes and deletes. */
class WriteLog extends MemoryDriver {
  writes: string[] = [];
  deletes: string[] = [];
  override async putContent(path: string, content: Buffer | string): Promise<void> {
    this.writes.push(path);
    return super.putContent(path, content);
  }
  override async delete(path: string): Promise<void> {
    this.deletes.push(path);
    return super.delete(path);
  }
}

function setup() {
  const driver = new WriteLog();
  const registry = new Registry(driver, { gcGraceMs: GRACE_MS });
  const pushBlob = async (): Promise<Digest> => {
    const bytes = randomBytes(48);
    const digest = digestBytes(bytes);
    const session = await registry.uploads.create(A);
    await registry.uploads.commit(A, session.id, parseDigest(digest), Readable.from([bytes]));
    return digest;
  };
  /** An image manifest of two fresh blobs; `mediaTypeInBody` false leaves `mediaType` out (the Content-Type names it). */
  const image = async (mediaTypeInBody = true): Promise<Buffer> => {
    const [config, layer] = [await pushBlob(), await pushBlob()];
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        ...(mediaTypeInBody ? { mediaType: OCI_MANIFEST } : {}),
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 48 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 48 }],
      }),
    );
  };
  const put = async (tag: string, body: Buffer): Promise<{ digest: Digest; writes: string[] }> => {
    driver.writes = [];
    const { digest } = await registry.manifests.put(A, { tag: tag as Tag }, body, OCI_MANIFEST);
    return { digest, writes: driver.writes.filter((p) => !p.startsWith(layout.gcMarkers())) };
  };
  return { driver, registry, image, put };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('manifest push: writes skipped', () => {
  it('a new manifest by tag writes its bytes, its revision and the tag, in that order', async () => {
    const { image, put } = setup();
    const body = await image();
    const { digest, writes } = await put('v1', body);
    expect(writes).toEqual([layout.blobData(digest), layout.manifestRevision(A, digest), layout.tag(A, 'v1' as Tag)]);
  });

  it('the same manifest pushed again by its tag within TAG_REWRITE_MS writes nothing, and the tag keeps its first pushedAt', async () => {
    const { registry, image, put } = setup();
    const body = await image();
    await put('v1', body);
    const first = await registry.manifests.resolveTag(A, 'v1' as Tag);
    vi.setSystemTime(T0 + TAG_REWRITE_MS - 1);
    const again = await put('v1', body);
    expect(again.writes).toEqual([]);
    expect(await registry.manifests.resolveTag(A, 'v1' as Tag)).toEqual(first);
    expect((await registry.manifests.get(A, { tag: 'v1' as Tag })).digest).toBe(again.digest);
  });

  it('after TAG_REWRITE_MS the tag is written again (a fresh pushedAt); the revision, younger than gc.grace/4, is not', async () => {
    const { registry, image, put } = setup();
    const body = await image();
    await put('v1', body);
    vi.setSystemTime(T0 + TAG_REWRITE_MS);
    const { digest, writes } = await put('v1', body);
    expect(writes).toEqual([layout.tag(A, 'v1' as Tag)]);
    expect((await registry.manifests.resolveTag(A, 'v1' as Tag)).pushedAt).toBe(new Date(T0 + TAG_REWRITE_MS).toISOString());
    expect(digest).toBe(digestBytes(body));
  });

  it('a revision older than gc.grace/4 is written again, so a collection counts the manifest young for 3/4 of the grace period more', async () => {
    const { image, put } = setup();
    const body = await image();
    await put('v1', body);
    vi.setSystemTime(T0 + GRACE_MS / 4 + 1);
    const { digest, writes } = await put('v1', body);
    expect(writes).toEqual([layout.manifestRevision(A, digest), layout.tag(A, 'v1' as Tag)]);
  });

  it('a tag moved to a stored recent manifest writes the tag alone, and checks the revision after it (a racing DELETE)', async () => {
    const { driver, registry, image, put } = setup();
    const [one, two] = [await image(), await image()];
    await put('v1', one);
    const { digest: twoDigest } = await put('v2', two);
    const stats: string[] = [];
    const stat = driver.stat.bind(driver);
    driver.stat = async (path) => (stats.push(path), stat(path));
    const { writes } = await put('v1', two);
    expect(writes).toEqual([layout.tag(A, 'v1' as Tag)]);
    // once before the tag write (its age), once after it (the recheck)
    expect(stats.filter((p) => p === layout.manifestRevision(A, twoDigest))).toHaveLength(2);
    expect((await registry.manifests.resolveTag(A, 'v1' as Tag)).digest).toBe(twoDigest);
  });

  it('a body without mediaType always writes its revision: the stored link may name another Content-Type', async () => {
    const { image, put } = setup();
    const body = await image(false);
    await put('v1', body);
    vi.setSystemTime(T0 + 1000);
    const { digest, writes } = await put('v2', body);
    expect(writes).toEqual([layout.manifestRevision(A, digest), layout.tag(A, 'v2' as Tag)]);
  });

  it('a tag re-pushed while its revision is gone (a DELETE by digest in flight) is written, with the revision', async () => {
    const { driver, image, put } = setup();
    const body = await image();
    const { digest } = await put('v1', body);
    await driver.delete(layout.manifestRevision(A, digest)); // a DELETE's last step, its tag listing missed by nothing yet
    const { writes } = await put('v1', body);
    expect(writes).toEqual([layout.manifestRevision(A, digest), layout.tag(A, 'v1' as Tag)]);
  });

  it('a collection after a skipped re-push keeps the manifest: the tag and the young revision still root it', async () => {
    const { driver, registry, image, put } = setup();
    const body = await image();
    await put('v1', body);
    await put('v1', body);
    const run = await GcRun.start(driver, {
      dryRun: false,
      deleteUntagged: true,
      graceMs: GRACE_MS,
      uploadPurgeAgeMs: 86_400_000,
      retention: [],
      lease: { settleMs: 5 },
    });
    const report = await run.complete();
    expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0 });
    expect((await registry.manifests.get(A, { tag: 'v1' as Tag })).digest).toBe(digestBytes(body));
  });
});

describe('holdsPush', () => {
  const digest = digestBytes(Buffer.from('m'));
  const link = { digest, mediaType: OCI_MANIFEST, pushedAt: new Date(T0).toISOString() };
  it('holds only for the same digest and media type, a present revision, and an age in [0, TAG_REWRITE_MS)', () => {
    expect(holdsPush(link, digest, OCI_MANIFEST, true, new Date(T0 + 10))).toBe(true);
    expect(holdsPush(link, digest, OCI_MANIFEST, false, new Date(T0 + 10))).toBe(false);
    expect(holdsPush(link, digestBytes(Buffer.from('n')), OCI_MANIFEST, true, new Date(T0 + 10))).toBe(false);
    expect(holdsPush(link, digest, 'application/vnd.docker.distribution.manifest.v2+json', true, new Date(T0 + 10))).toBe(false);
    expect(holdsPush({ digest, pushedAt: link.pushedAt }, digest, OCI_MANIFEST, true, new Date(T0 + 10))).toBe(false); // an old tag without media type
    expect(holdsPush(link, digest, OCI_MANIFEST, true, new Date(T0 + TAG_REWRITE_MS))).toBe(false);
    expect(holdsPush(link, digest, OCI_MANIFEST, true, new Date(T0 - 1))).toBe(false); // written "in the future": another clock
    expect(holdsPush(undefined, digest, OCI_MANIFEST, true, new Date(T0))).toBe(false);
  });
});
