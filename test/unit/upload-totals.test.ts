/**
 * The upload sessions' totals of `GET /admin/v1/storage` (src/registry/admin-index/upload-totals.ts):
 * this process's own changes (reported as the change feed does) are exact at the next request, an
 * append under way to one of its sessions included; a
 * session another process opens or deletes is seen once the reading is older than its bound, and
 * not read again before; a session deleted while a whole reading runs is not brought back by it.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UploadTotals } from '../../src/registry/admin-index/upload-totals.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import * as layout from '../../src/storage/layout.js';

/** Opens a session with `bytes` received, as the upload store writes it. */
async function open(driver: MemoryDriver, bytes: number): Promise<layout.UploadId> {
  const id = randomUUID() as layout.UploadId;
  await driver.putContent(layout.uploadInfo(id), '{}');
  if (bytes > 0) await driver.append(layout.uploadData(id), Readable.from([Buffer.alloc(bytes)]), { offset: 0 });
  return id;
}

/** A driver that counts its listings of every upload session (of `uploads/`). */
class CountingDriver extends MemoryDriver {
  lists = 0;
  override list(path: string): Promise<string[]> {
    if (path === layout.UPLOADS) this.lists += 1;
    return super.list(path);
  }
}

describe('upload totals', () => {
  it("answers this process's changes exactly and other processes' within the bound, without reading every session per request", async () => {
    const driver = new CountingDriver();
    let now = 1_000_000;
    const totals = new UploadTotals(driver, 30_000, () => now);
    await open(driver, 5); // before the first reading
    expect(await totals.usage()).toEqual({ count: 1, bytes: 5 });

    const own = await open(driver, 0);
    totals.written(layout.uploadInfo(own));
    expect(await totals.usage()).toEqual({ count: 2, bytes: 5 });
    await driver.append(layout.uploadData(own), Readable.from([Buffer.alloc(10)]), { offset: 0 });
    totals.written(layout.uploadData(own));
    expect(await totals.usage()).toEqual({ count: 2, bytes: 15 });

    await driver.append(layout.uploadData(own), Readable.from([Buffer.alloc(4)]), { offset: 10 }); // an append under way: not reported yet
    expect(await totals.usage()).toEqual({ count: 2, bytes: 19 });

    const other = await open(driver, 100); // another process: not reported
    const lists = driver.lists;
    for (let i = 0; i < 5; i++) expect(await totals.usage()).toEqual({ count: 2, bytes: 19 });
    expect(driver.lists).toBe(lists); // uploads/ not listed again: answered from what is kept

    await driver.delete(layout.upload(own));
    totals.removed(layout.upload(own));
    expect(await totals.usage()).toEqual({ count: 1, bytes: 5 });

    now += 30_001; // older than the bound: the request waits for a new reading
    expect(await totals.usage()).toEqual({ count: 2, bytes: 105 });
    expect(driver.lists).toBe(lists + 1);
    await driver.delete(layout.upload(other));
    now += 30_001;
    expect(await totals.usage()).toEqual({ count: 1, bytes: 5 });
  });

  it('does not bring back a session deleted while a whole reading runs', async () => {
    const driver = new MemoryDriver();
    const id = await open(driver, 7);
    const totals = new UploadTotals(driver, 30_000, () => 0);
    const reading = totals.usage();
    await driver.delete(layout.upload(id)); // the reading may have listed it already
    totals.removed(layout.upload(id));
    await reading;
    expect(await totals.usage()).toEqual({ count: 0, bytes: 0 });
  });

  it('reads everything again when the whole uploads folder is deleted', async () => {
    const driver = new MemoryDriver();
    await open(driver, 3);
    const totals = new UploadTotals(driver, 30_000, () => 0);
    expect(await totals.usage()).toEqual({ count: 1, bytes: 3 });
    await driver.delete(layout.UPLOADS);
    totals.removed(layout.UPLOADS);
    expect(await totals.usage()).toEqual({ count: 0, bytes: 0 });
  });
});
