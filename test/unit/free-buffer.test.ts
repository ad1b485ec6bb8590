/**
 * Freeing a buffer's memory once its user is done (src/storage/free-buffer.ts): at once on this
 * runtime (ArrayBuffer.prototype.transfer, staged on Node 20), where a buffer whose object reached
 * V8's old generation otherwise keeps its bytes until a full collection; views into a shared
 * ArrayBuffer are left alone.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { freeBuffer, freesAtOnce } from '../../src/storage/free-buffer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' }) => void;
const MiB = 1024 * 1024;
/** The array buffers' MiB once V8's sweeper (which frees them on a thread of its own after a collection) has had `ms`. */
const settledMiB = async (ms = 200): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return process.memoryUsage().arrayBuffers / MiB;
};

describe('freeBuffer', () => {
  it('frees at once on this runtime (Node 20 included)', () => {
    expect(freesAtOnce).toBe(true);
  });

  it('frees an old buffer before any collection; one not freed waits for a full collection', async () => {
    const kept: Buffer[] = [];
    const freed: Buffer[] = [];
    // request-body-sized chunks (from the C library's heap) and part-slab-sized ones (mapped)
    for (let i = 0; i < 16; i++) {
      kept.push(Buffer.allocUnsafeSlow(MiB).fill(1));
      freed.push(Buffer.allocUnsafeSlow(MiB / 2).fill(2), Buffer.allocUnsafeSlow(64 * 1024).fill(3));
    }
    // three scavenges: the buffers' objects are in the old generation, as a part slab's or a waiting chunk's are
    for (let i = 0; i < 3; i++) gc({ type: 'minor' });
    const held = await settledMiB();
    for (const b of freed) expect(freeBuffer(b)).toBe(true);
    expect(freed.every((b) => b.length === 0)).toBe(true);
    const afterFree = await settledMiB(0);
    expect(held - afterFree).toBeGreaterThanOrEqual(8.9); // 16 x (512 + 64) KiB = 9 MiB
    // emptied in place: a suspended async function may still hold the arrays themselves
    kept.length = 0;
    freed.length = 0;
    gc({ type: 'minor' });
    const afterScavenge = await settledMiB();
    expect(afterFree - afterScavenge).toBeLessThan(1); // the 16 MiB not freed are still there
    gc();
    expect(afterScavenge - (await settledMiB())).toBeGreaterThanOrEqual(15);
  });

  it('leaves a view into a larger or shared ArrayBuffer alone', () => {
    const pooled = Buffer.from('a small buffer from node’s 8 KiB pool');
    const whole = Buffer.allocUnsafeSlow(4096).fill(7);
    const slice = whole.subarray(0, 1024);
    expect(freeBuffer(pooled)).toBe(false);
    expect(freeBuffer(slice)).toBe(false);
    expect(pooled.toString()).toBe('a small buffer from node’s 8 KiB pool');
    expect(whole.length).toBe(4096);
    expect(slice.every((b) => b === 7)).toBe(true);
    expect(freeBuffer(whole)).toBe(true);
    expect(freeBuffer(whole)).toBe(false); // already freed
    expect(slice.length).toBe(0);
  });
});
