/**
 * Freeing a buffer's memory at the next scavenge (src/storage/free-buffer.ts): a buffer whose object
 * reached V8's old generation keeps its bytes until a full collection, unless {@link freeSoon} hands
 * them to a fresh object first; views into a shared ArrayBuffer are left alone.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { freeSoon } from '../../src/storage/free-buffer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' }) => void;
const MiB = 1024 * 1024;
const arrayBuffersMiB = (): number => process.memoryUsage().arrayBuffers / MiB;
/** The array buffers' MiB once V8's sweeper (which frees them on a thread of its own after a collection) has had `ms`. */
const settledMiB = async (ms = 200): Promise<number> => {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return arrayBuffersMiB();
};

describe('freeSoon', () => {
  it('frees an old buffer at the next scavenge; one not handed over waits for a full collection', async () => {
    const kept: Buffer[] = [];
    const freed: Buffer[] = [];
    for (let i = 0; i < 16; i++) {
      kept.push(Buffer.allocUnsafeSlow(MiB).fill(1));
      freed.push(Buffer.allocUnsafeSlow(MiB).fill(2));
    }
    // three scavenges: the buffers' objects are in the old generation, as a part slab's or a waiting chunk's are
    for (let i = 0; i < 3; i++) gc({ type: 'minor' });
    const held = await settledMiB();
    for (const b of freed) expect(freeSoon(b)).toBe(true);
    expect(freed.every((b) => b.length === 0)).toBe(true);
    // emptied in place: a suspended async function may still hold the arrays themselves
    kept.length = 0;
    freed.length = 0;
    gc({ type: 'minor' });
    const afterScavenge = await settledMiB();
    expect(held - afterScavenge).toBeGreaterThanOrEqual(15);
    expect(held - afterScavenge).toBeLessThan(17); // the 16 MiB not handed over are still there
    gc();
    expect(afterScavenge - (await settledMiB())).toBeGreaterThanOrEqual(15);
  });

  it('leaves a view into a larger or shared ArrayBuffer alone', () => {
    const pooled = Buffer.from('a small buffer from node’s 8 KiB pool');
    const whole = Buffer.allocUnsafeSlow(4096).fill(7);
    const slice = whole.subarray(0, 1024);
    expect(freeSoon(pooled)).toBe(false);
    expect(freeSoon(slice)).toBe(false);
    expect(pooled.toString()).toBe('a small buffer from node’s 8 KiB pool');
    expect(whole.length).toBe(4096);
    expect(slice.every((b) => b === 7)).toBe(true);
    expect(freeSoon(whole)).toBe(true);
    expect(freeSoon(whole)).toBe(false); // already handed over
    expect(slice.length).toBe(0);
  });
});
