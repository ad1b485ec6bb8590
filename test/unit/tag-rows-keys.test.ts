/**
 * The admin tag list of a repository too large for its rows to be kept (src/registry/admin-index/
 * tag-rows.ts, with small limits): only its sort keys are kept (within their budget, no rows), a
 * sorted page after the first reads only its own rows, and the walk over every tag does not fill the
 * manifest cache (src/registry/manifests.ts, `keep: false`).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { digestBytes, parseDigest, type Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { TagRows } from '../../src/registry/admin-index/tag-rows.js';
import type { ListQuery } from '../../src/registry/admin-index/listing.js';
import { Registry } from '../../src/registry/registry.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const A = 'team/tall' as RepositoryName;
const TAGS = Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}` as Tag);

/** A memory driver that logs the paths it reads with getContent. */
class ReadLog extends MemoryDriver {
  readonly reads: string[] = [];
  override async getContent(path: string): Promise<Buffer> {
    this.reads.push(path);
    return super.getContent(path);
  }
}

/** Pushes an image tagged `tag` whose layer is `layerBytes` long. @returns its manifest's digest */
async function pushImage(registry: Registry, tag: Tag, layerBytes: number): Promise<Digest> {
  const blobs: Digest[] = [];
  for (const length of [32, layerBytes]) {
    const bytes = randomBytes(length);
    const session = await registry.uploads.create(A);
    await registry.uploads.commit(A, session.id, parseDigest(digestBytes(bytes)), Readable.from([bytes]));
    blobs.push(digestBytes(bytes));
  }
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: 32 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: blobs[1], size: layerBytes }],
    }),
  );
  return (await registry.manifests.put(A, { tag }, body, 'application/vnd.oci.image.manifest.v1+json')).digest;
}

const query = (q: Partial<ListQuery<'name' | 'pushedAt' | 'size'>>): ListQuery<'name' | 'pushedAt' | 'size'> => ({ sort: 'name', order: 'asc', q: undefined, n: undefined, after: undefined, ...q });

it('keeps only the sort keys of a repository over half the rows budget, reads only the page rows after, and leaves the manifest cache alone', async () => {
  const driver = new ReadLog();
  const pushing = new Registry(driver);
  const digests: Digest[] = [];
  for (const [i, tag] of TAGS.entries()) digests.push(await pushImage(pushing, tag, 100 + 10 * i));
  const registry = new Registry(driver); // another process: nothing cached
  const rows = new TagRows(registry.driver, registry.manifests, registry.index, { rowsBudget: 10, keysBudget: 100 });

  const largest = await rows.list(A, query({ sort: 'size', order: 'desc', n: 5 }));
  expect(largest.items.map((t) => t.tag)).toEqual(TAGS.slice(-5).reverse());
  expect(largest.items[0]!.platforms).toEqual([]); // the page's rows are whole rows
  expect(rows.kept()).toEqual({ rows: 0, keys: TAGS.length });

  driver.reads.length = 0;
  const oldest = await rows.list(A, query({ sort: 'pushedAt', n: 3 }));
  expect(oldest.items.map((t) => t.tag)).toEqual(TAGS.slice(0, 3));
  expect(driver.reads.filter((p) => p.startsWith(`${layout.tags(A)}/`)).sort()).toEqual(TAGS.slice(0, 3).map((t) => layout.tag(A, t)));
  const filtered = await rows.list(A, query({ q: '1', order: 'desc' }));
  expect(filtered.items.map((t) => t.tag)).toEqual(['t11', 't10', 't01']);

  // t05 was read by the walk alone: its bytes were not cached
  driver.reads.length = 0;
  await registry.manifests.get(A, { digest: parseDigest(digests[5]!) });
  expect(driver.reads).toContain(layout.blobData(digests[5]!));
});

it('keeps no sort keys beyond their budget', async () => {
  const driver = new ReadLog();
  const registry = new Registry(driver);
  for (const [i, tag] of TAGS.entries()) await pushImage(registry, tag, 100 + i);
  const rows = new TagRows(registry.driver, registry.manifests, registry.index, { rowsBudget: 10, keysBudget: 8 });
  expect((await rows.list(A, query({ sort: 'size', n: 2 }))).items.map((t) => t.tag)).toEqual(['t00', 't01']);
  expect(rows.kept()).toEqual({ rows: 0, keys: 0 });
});
