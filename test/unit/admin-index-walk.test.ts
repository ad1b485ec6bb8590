/**
 * The admin index's walk (src/registry/admin-index/scan.ts `walkRegistry`): configs' and layers'
 * sizes come from their manifests' descriptors, so it stats only the stored blobs no manifest
 * describes (an orphan, a foreign layer with URLs, a blob two manifests describe differently); a
 * described blob the store does not hold is not counted; the totals are the storage's.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { walkRegistry } from '../../src/registry/admin-index/scan.js';
import type { FileInfo } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const sha = (bytes: Buffer): Digest => `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;

/** A memory driver that records the paths stat'ed. */
class CountingDriver extends MemoryDriver {
  readonly stats: string[] = [];

  override stat(path: string): Promise<FileInfo> {
    this.stats.push(path);
    return super.stat(path);
  }
}

/** Stores `bytes` as a blob; returns its digest and length. */
async function blob(driver: MemoryDriver, content: string): Promise<{ digest: Digest; size: number }> {
  const bytes = Buffer.from(content);
  const digest = sha(bytes);
  await driver.putContent(layout.blobData(digest), bytes);
  return { digest, size: bytes.length };
}

/** Stores a manifest of `blobs` (descriptors as given) in `name` under tag `tag`; returns its digest and length. */
async function manifest(driver: MemoryDriver, name: string, tag: string, config: object, layers: object[]): Promise<{ digest: Digest; size: number }> {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers }));
  const digest = sha(body);
  const repo = name as RepositoryName;
  await driver.putContent(layout.blobData(digest), body);
  await driver.putContent(layout.manifestRevision(repo, digest), JSON.stringify({ mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
  await driver.putContent(layout.tag(repo, tag as Tag), JSON.stringify({ digest, pushedAt: '2026-12-01T00:00:00.000Z' }));
  return { digest, size: body.length };
}

const layer = (b: { digest: Digest; size: number }, extra: object = {}) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: b.digest, size: b.size, ...extra });

describe('the admin index walk', () => {
  it('stats only the stored blobs no manifest describes, and counts no described blob the store lacks', async () => {
    const driver = new CountingDriver();
    const config = await blob(driver, '{"os":"linux","architecture":"amd64"}');
    const shared = await blob(driver, 'shared layer');
    const own = await blob(driver, 'a layer of b alone');
    const orphan = await blob(driver, 'a blob no manifest references');
    const foreign = await blob(driver, 'a foreign layer someone pushed anyway');
    const disputed = await blob(driver, 'a layer two manifests describe with different sizes');
    const absent = { digest: sha(Buffer.from('never pulled')), size: 12345 };
    const a = await manifest(driver, 'team/a', 'v1', layer(config), [layer(shared), layer(disputed)]);
    const b = await manifest(driver, 'team/b', 'v1', layer(config), [layer(shared), layer(own), layer(absent), layer(disputed, { size: disputed.size + 100 })]);
    const c = await manifest(driver, 'team/c', 'v1', layer(config), [layer(foreign, { size: 1, urls: ['https://example.com/f'] })]);

    driver.stats.length = 0;
    const state = await walkRegistry(driver, pLimit(4));

    expect(driver.stats.filter((p) => p.startsWith('/blobs/')).sort()).toEqual([orphan, foreign, disputed].map((x) => layout.blobData(x.digest)).sort());
    const stored = [config, shared, own, orphan, foreign, disputed, a, b, c];
    expect(state.stored).toEqual({ count: stored.length, bytes: stored.reduce((sum, x) => sum + x.size, 0) });
    for (const x of stored) expect(state.sizeOf(x.digest)).toBe(x.size);
    expect(state.sizeOf(absent.digest)).toBeUndefined();
    const bytesOf = (name: string) => state.bytes(state.repository(name as RepositoryName)!);
    expect(bytesOf('team/b')).toEqual({ unique: own.size + b.size, shared: config.size + shared.size + disputed.size, total: config.size + shared.size + disputed.size + own.size + b.size });
    expect(state.describedSize(absent.digest)).toBeUndefined(); // the walk's marks are gone: a snapshot holds stored sizes only
    expect(state.blobs.columns.flags[state.blobs.id(absent.digest)]).toBe(0);
  });
});
