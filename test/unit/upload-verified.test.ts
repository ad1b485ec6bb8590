/**
 * Upload sessions whose bytes the caller hashes itself (a pull-through fill hashes on a worker
 * thread): appended `unhashed`, committed `verified` without reading the bytes back; the size is still
 * checked; a session appended unhashed and committed the ordinary way is re-hashed from storage, so
 * wrong bytes are still refused.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { digestBytes, parseDigest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { Registry } from '../../src/registry/registry.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const name = 'cache/library/app' as RepositoryName;

function setup() {
  const driver = new MemoryDriver();
  const registry = new Registry(driver);
  const readBack = vi.spyOn(driver, 'appendedReader');
  return { driver, registry, readBack };
}

describe('upload sessions verified by their caller', () => {
  it('commits unhashed bytes as the verified digest without reading them back', async () => {
    const { registry, readBack } = setup();
    const bytes = randomBytes(200_000);
    const session = await registry.uploads.create(name);
    await registry.uploads.append(name, session.id, Readable.from([bytes.subarray(0, 70_000), bytes.subarray(70_000)]), undefined, undefined, { unhashed: true });
    const blob = await registry.uploads.commit(name, session.id, parseDigest(digestBytes(bytes)), undefined, undefined, undefined, { size: bytes.length });
    expect(blob).toEqual({ digest: digestBytes(bytes), size: bytes.length });
    expect(await registry.blobs.servable(name, digestBytes(bytes))).toBe(true);
    expect(readBack).not.toHaveBeenCalled();
  });

  it('refuses a verified commit whose session holds another size, and keeps nothing', async () => {
    const { registry } = setup();
    const bytes = randomBytes(1000);
    const session = await registry.uploads.create(name);
    await registry.uploads.append(name, session.id, Readable.from([bytes]), undefined, undefined, { unhashed: true });
    await expect(registry.uploads.commit(name, session.id, parseDigest(digestBytes(bytes)), undefined, undefined, undefined, { size: 1001 })).rejects.toMatchObject({ code: 'SIZE_INVALID' });
    expect(await registry.blobs.statStored(digestBytes(bytes))).toBeUndefined();
    await expect(registry.uploads.status(name, session.id)).rejects.toMatchObject({ code: 'BLOB_UPLOAD_UNKNOWN' });
  });

  it('re-hashes unhashed bytes committed the ordinary way: wrong bytes are refused', async () => {
    const { registry, readBack } = setup();
    const bytes = randomBytes(5000);
    const session = await registry.uploads.create(name);
    await registry.uploads.append(name, session.id, Readable.from([bytes]), undefined, undefined, { unhashed: true });
    await expect(registry.uploads.commit(name, session.id, parseDigest(digestBytes(randomBytes(5000))))).rejects.toMatchObject({ code: 'DIGEST_INVALID' });
    expect(readBack).toHaveBeenCalled();
  });
});
