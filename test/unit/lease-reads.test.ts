/**
 * The lease reads a process's guarded operations share (src/registry/lease-reads.ts): the read before
 * an operation may be one that completed before it (at most RECENT_MS old); a read after its writes is
 * always issued after the caller asked, and callers asking while one is in flight share the next.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { LeaseReads, RECENT_MS } from '../../src/registry/lease-reads.js';

/** A memory driver whose lease reads see the lease as it was when issued, and answer when the test releases them. */
class GatedLease extends MemoryDriver {
  readonly issued: number[] = [];
  readonly #gates: Array<() => void> = [];
  /** how many lease writes happened before each read was issued */
  writes = 0;

  override async getContent(path: string): Promise<Buffer> {
    if (path !== layout.gcLease()) return super.getContent(path);
    this.issued.push(this.writes);
    const content = super.getContent(path); // the lease as it is when the read is issued
    content.catch(() => undefined);
    await new Promise<void>((resolve) => this.#gates.push(resolve));
    return content;
  }

  async writeLease(runId: string): Promise<void> {
    this.writes++;
    await this.putContent(layout.gcLease(), JSON.stringify({ runId, owner: 'o', phase: 'done', expiresAt: 0, startedAt: new Date(0).toISOString() }));
  }

  /** Lets the oldest held read go on. */
  release(): void {
    this.#gates.shift()?.();
  }

  get held(): number {
    return this.#gates.length;
  }
}

const RUN_1 = '00000000-0000-4000-8000-000000000001';
const RUN_2 = '00000000-0000-4000-8000-000000000002';

/** Lets pending promise callbacks run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('LeaseReads', () => {
  afterEach(() => vi.restoreAllMocks());

  it('before(): reuses the latest completed read while it is recent, then reads again', async () => {
    const driver = new GatedLease();
    await driver.writeLease(RUN_1);
    const reads = new LeaseReads(driver);
    const first = reads.before();
    await tick();
    driver.release();
    expect((await first)?.runId).toBe(RUN_1);
    expect((await reads.before())?.runId).toBe(RUN_1); // no read: the one that completed before
    expect(driver.issued).toHaveLength(1);
    const now = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(now + RECENT_MS + 1);
    await driver.writeLease(RUN_2);
    const later = reads.before();
    await tick();
    driver.release();
    expect((await later)?.runId).toBe(RUN_2);
    expect(driver.issued).toHaveLength(2);
  });

  it('fresh(): never answers with a read issued before the call; callers during one read share the next', async () => {
    const driver = new GatedLease();
    await driver.writeLease(RUN_1);
    const reads = new LeaseReads(driver);
    const a = reads.fresh();
    await tick();
    expect(driver.held).toBe(1);
    await driver.writeLease(RUN_2); // a write the next callers must see
    const b = reads.fresh();
    const c = reads.fresh();
    expect(b).toBe(c);
    await tick();
    expect(driver.held).toBe(1); // b and c wait for a's read to end before theirs is issued
    driver.release();
    expect((await a)?.runId).toBe(RUN_1);
    await tick();
    expect(driver.held).toBe(1);
    driver.release();
    expect((await b)?.runId).toBe(RUN_2);
    expect(driver.issued).toEqual([1, 2]);
  });

  it('fresh(): a failed read fails its callers, and the next caller reads again', async () => {
    const driver = new MemoryDriver();
    const reads = new LeaseReads(driver);
    const broken = vi.spyOn(driver, 'getContent').mockRejectedValueOnce(new Error('store down'));
    await expect(reads.fresh()).rejects.toThrow('store down');
    expect(await reads.fresh()).toBeUndefined(); // no lease yet
    expect(broken).toHaveBeenCalledTimes(2);
  });
});
