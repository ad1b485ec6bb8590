/**
 * The sweep's lease check (GcLease.assertHeld with a maximum age, src/gc/lease.ts): checks within the
 * age share one read of the lease, a lease overwritten by hand stops the run once the read is older,
 * a check without an age always reads afresh, and the expiry is checked every time whatever the read's age.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GcLease, GcLeaseLostError } from '../../src/gc/lease.js';
import { readLease } from '../../src/gc/protocol.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';

/** A memory driver counting reads of the lease record. */
class CountingDriver extends MemoryDriver {
  leaseReads = 0;
  override getContent(path: string): Promise<Buffer> {
    if (path === layout.gcLease()) this.leaseReads += 1;
    return super.getContent(path);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GcLease.assertHeld', () => {
  it('shares one read among checks within the age, and sees a takeover once the read is older', async () => {
    const driver = new CountingDriver();
    const lease = await GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 5 });
    try {
      const before = driver.leaseReads;
      await Promise.all(Array.from({ length: 50 }, () => lease.assertHeld(200)));
      await lease.assertHeld(200);
      expect(driver.leaseReads - before).toBe(1);
      const current = (await readLease(driver))!;
      await driver.putContent(layout.gcLease(), JSON.stringify({ ...current, owner: 'someone-else', runId: randomUUID() }));
      await lease.assertHeld(200); // the shared read is younger than 200 ms: the run goes on
      await sleep(250);
      await expect(lease.assertHeld(200)).rejects.toBeInstanceOf(GcLeaseLostError);
      await expect(lease.assertHeld(200)).rejects.toBeInstanceOf(GcLeaseLostError); // lost for good
    } finally {
      await lease.release();
    }
  });

  it('reads afresh without an age, and checks the expiry whatever the age', async () => {
    const driver = new CountingDriver();
    let now = Date.now();
    const lease = await GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 5, ttlMs: 60_000, now: () => now });
    try {
      await lease.assertHeld(10_000);
      const before = driver.leaseReads;
      await lease.assertHeld();
      await lease.assertHeld();
      expect(driver.leaseReads - before).toBe(2);
      now += 120_000; // past the expiry, with no renewal in between: the cached read does not hide it
      await expect(lease.assertHeld(10_000)).rejects.toBeInstanceOf(GcLeaseLostError);
    } finally {
      await lease.release();
    }
  });
});
