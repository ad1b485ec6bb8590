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

describe('FreshReads with overlapping reads', () => {
  it('gives callers a read of their own while fewer than maxInFlight run, then shares the next one', async () => {
    const store = gatedStore();
    const reads = new FreshReads<number>(2);
    const a = reads.read('k', store.read);
    store.set(1);
    const b = reads.read('k', store.read); // a second read at once, seeing 1
    store.set(2);
    const [c, d] = [reads.read('k', store.read), reads.read('k', store.read)]; // both in flight: c and d share the next
    expect(store.issued).toEqual([0, 1]);
    store.release();
    expect(await a).toBe(0);
    await tick();
    expect(store.issued).toEqual([0, 1, 2]); // issued when the oldest ended, after c and d asked
    store.release();
    store.release();
    expect(await Promise.all([b, c, d])).toEqual([1, 2, 2]);
    // all done: the key's places are free again
    const e = reads.read('k', store.read);
    const f = reads.read('k', store.read);
    expect(store.issued.length).toBe(5);
    store.release();
    store.release();
    await Promise.all([e, f]);
  });
});
