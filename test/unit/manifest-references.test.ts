/**
 * What a manifest PUT costs for the descriptors it holds (outside testing: three 3.7 MB manifests of
 * 25,000 copies of one layer descriptor stalled every other client for 4-5 s): each distinct digest
 * is checked once, the checks give the event loop back between small batches, and a manifest past
 * MAX_MANIFEST_DESCRIPTORS is refused before any storage access.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { digestBytes, parseDigest, type Digest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { MAX_MANIFEST_DESCRIPTORS, parseManifest } from '../../src/oci/manifest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { Registry } from '../../src/registry/registry.js';
import type { FileInfo } from '../../src/storage/driver.js';
import { MemoryDriver } from '../../src/storage/memory.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const NAME = 'big/app' as RepositoryName;

/** A memory driver that records each stat with the number of event-loop turns (setImmediate) seen so far. */
class TickCountingDriver extends MemoryDriver {
  readonly stats: { path: string; turn: number }[] = [];
  turn = 0;
  #ticking = false;

  startTicking(): void {
    this.#ticking = true;
    const tick = (): void => {
      this.turn += 1;
      if (this.#ticking) setImmediate(tick);
    };
    setImmediate(tick);
  }

  stopTicking(): void {
    this.#ticking = false;
  }

  override stat(path: string): Promise<FileInfo> {
    this.stats.push({ path, turn: this.turn });
    return super.stat(path);
  }
}

async function pushBlob(registry: Registry, bytes: Buffer): Promise<Digest> {
  const digest = digestBytes(bytes);
  const session = await registry.uploads.create(NAME);
  await registry.uploads.commit(NAME, session.id, parseDigest(digest), Readable.from([bytes]));
  return digest;
}

function layer(digest: Digest) {
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 16 };
}

function manifest(config: Digest, layers: Digest[]): Buffer {
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 16 }, layers: layers.map(layer) }));
}

describe('the descriptors of a pushed manifest', () => {
  it('each distinct digest is checked once, however often the manifest repeats it', async () => {
    const driver = new TickCountingDriver();
    const registry = new Registry(driver);
    const config = await pushBlob(registry, randomBytes(16));
    const layers = [await pushBlob(registry, randomBytes(16)), await pushBlob(registry, randomBytes(16))];
    const body = manifest(config, Array.from({ length: 5000 }, (_, i) => layers[i % 2]!));
    driver.stats.length = 0;
    await registry.manifests.put(NAME, { tag: 'v1' as Tag }, body, OCI_MANIFEST);
    for (const d of [config, ...layers]) {
      const hex = d.slice('sha256:'.length);
      const linkStats = driver.stats.filter((s) => s.path.includes('/_layers/') && s.path.endsWith(hex));
      expect(linkStats, d).toHaveLength(1);
    }
    expect(driver.stats.length).toBeLessThan(20);
  });

  it('the checks of many distinct digests give the event loop back between small batches', async () => {
    const driver = new TickCountingDriver();
    const registry = new Registry(driver);
    const config = await pushBlob(registry, randomBytes(16));
    const layers: Digest[] = [];
    for (let i = 0; i < 1000; i++) layers.push(await pushBlob(registry, randomBytes(16)));
    driver.stats.length = 0;
    driver.startTicking();
    try {
      await registry.manifests.put(NAME, { tag: 'many' as Tag }, manifest(config, layers), OCI_MANIFEST);
    } finally {
      driver.stopTicking();
    }
    const perTurn = new Map<number, number>();
    for (const s of driver.stats) perTurn.set(s.turn, (perTurn.get(s.turn) ?? 0) + 1);
    expect(driver.stats.length).toBeGreaterThanOrEqual(2 * 1001);
    expect(Math.max(...perTurn.values())).toBeLessThanOrEqual(2 * 64);
  });

  it(`a manifest of more than ${MAX_MANIFEST_DESCRIPTORS} descriptors is MANIFEST_INVALID, naming the limit, before storage is touched`, async () => {
    const digest = digestBytes(Buffer.from('x'));
    const image = manifest(digest, Array.from({ length: MAX_MANIFEST_DESCRIPTORS }, () => digest)); // the config makes one more
    const refused = (() => {
      try {
        parseManifest(image, OCI_MANIFEST);
      } catch (err) {
        return err;
      }
    })() as RegistryError;
    expect(refused).toBeInstanceOf(RegistryError);
    expect(refused.code).toBe('MANIFEST_INVALID');
    expect(refused.message).toContain(`${MAX_MANIFEST_DESCRIPTORS + 1} descriptors`);
    expect(refused.message).toContain(`at most ${MAX_MANIFEST_DESCRIPTORS}`);
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: Array.from({ length: MAX_MANIFEST_DESCRIPTORS + 1 }, () => ({ mediaType: OCI_MANIFEST, digest, size: 2 })) }));
    expect(() => parseManifest(index, OCI_INDEX)).toThrow(/at most/);
    // at the limit: accepted
    expect(parseManifest(manifest(digest, Array.from({ length: MAX_MANIFEST_DESCRIPTORS - 1 }, () => digest)), OCI_MANIFEST).blobs.length).toBe(MAX_MANIFEST_DESCRIPTORS);

    const driver = new TickCountingDriver();
    const registry = new Registry(driver);
    await expect(registry.manifests.put(NAME, { tag: 'x' as Tag }, image, OCI_MANIFEST)).rejects.toMatchObject({ code: 'MANIFEST_INVALID' });
    expect(driver.stats).toEqual([]);
  });
});
