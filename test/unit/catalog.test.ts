/**
 * The catalog walk keeps a bounded number of folder listings in flight (an S3 bucket with a thousand
 * repositories must not get a thousand ListObjectsV2 at once), and still finds every repository.
 */
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/registry/catalog.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { sha256 } from '../integration/harness.js';

/** A memory driver whose listings take a turn of the event loop, counting how many are in flight. */
class CountingDriver extends MemoryDriver {
  inFlight = 0;
  mostInFlight = 0;
  override async list(path: string): Promise<string[]> {
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setImmediate(resolve));
      return await super.list(path);
    } finally {
      this.inFlight--;
    }
  }
}

describe('Catalog.repositories', () => {
  it('lists 200 repositories, nested ones included, with at most 16 listings in flight', async () => {
    const driver = new CountingDriver();
    const names: string[] = [];
    for (let i = 0; i < 100; i++) names.push(`team/app${String(i).padStart(3, '0')}`, `solo${String(i).padStart(3, '0')}`);
    const digest = sha256(Buffer.from('x')) as Digest;
    for (const name of names) await driver.putContent(layout.layerLink(name as RepositoryName, digest), digest);
    const found = await new Catalog(driver).repositories();
    expect(found).toEqual([...names].sort());
    expect(driver.mostInFlight).toBeGreaterThan(1);
    expect(driver.mostInFlight).toBeLessThanOrEqual(16);
  });
});
