/**
 * FreshReads (src/storage/fresh-reads.ts): concurrent identical reads share one, but never one issued
 * before the caller asked; other keys and failures are their own.
 */
import { describe, expect, it } from 'vitest';
import { FreshReads } from '../../src/storage/fresh-reads.js';

/** A store whose reads answer the value as it was when issued, when the test releases them. */
function gatedStore() {
  let value = 0;
  const issued: number[] = [];
  const gates: Array<() => void> = [];
  return {
    set: (v: number) => void (value = v),
    issued,
    held: () => gates.length,
    release: () => gates.shift()?.(),
    read: (): Promise<number> => {
      const seen = value;
      issued.push(seen);
      return new Promise((resolve) => gates.push(() => resolve(seen)));
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads', () => {
  it('callers asking during a read share the next read, which sees what was written before they asked', async () => {
    const store = gatedStore();
    const reads = new FreshReads<number>();
    const first = reads.read('k', store.read);
    store.set(1); // written after the first read was issued, before the next callers ask
    const [b, c, d] = [reads.read('k', store.read), reads.read('k', store.read), reads.read('k', store.read)];
    expect(store.held()).toBe(1);
    store.release();
    expect(await first).toBe(0);
    await tick();
    expect(store.held()).toBe(1); // one read for the three callers
    store.release();
    expect(await Promise.all([b, c, d])).toEqual([1, 1, 1]);
    expect(store.issued).toEqual([0, 1]);
  });

  it('keys are read apart; a failed read fails only its callers', async () => {
    const reads = new FreshReads<string>();
    let calls = 0;
    const failing = (): Promise<string> => Promise.reject(new Error(`down ${++calls}`));
    const [a, b] = [reads.read('a', async () => 'A'), reads.read('b', async () => 'B')];
    expect(await Promise.all([a, b])).toEqual(['A', 'B']);
    const x = reads.read('x', failing);
    const y = reads.read('x', failing); // queued behind x: its own read, also failing
    await expect(x).rejects.toThrow('down 1');
    await expect(y).rejects.toThrow('down 2');
    expect(await reads.read('x', async () => 'up')).toBe('up');
  });
});
