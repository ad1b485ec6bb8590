/**
 * CombinedWrites (src/storage/combined-writes.ts): writes of one key asked while one is in flight share
 * the next request, which carries the last caller's content and is sent after that write ended; other
 * keys and failures are their own.
 */
import { describe, expect, it } from 'vitest';
import { CombinedWrites } from '../../src/storage/combined-writes.js';

/** A store whose writes land when the test releases them, in the order they were sent. */
function gatedStore() {
  const sent: string[] = [];
  const stored = new Map<string, string>();
  const gates: Array<() => void> = [];
  return {
    sent,
    stored,
    held: () => gates.length,
    release: () => gates.shift()?.(),
    writer: (key: string) => (value: string): Promise<void> => {
      sent.push(`${key}=${value}`);
      return new Promise((resolve) => gates.push(() => resolve(void stored.set(key, value))));
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('CombinedWrites', () => {
  it('callers asking during a write share one later write of the last content; each resolves only once it landed', async () => {
    const store = gatedStore();
    const writes = new CombinedWrites<string>();
    const first = writes.write('k', 'a', store.writer('k'));
    let done = 0;
    const later = ['b', 'c', 'd'].map((v) => writes.write('k', v, store.writer('k')).then(() => void done++));
    expect(store.held()).toBe(1);
    store.release();
    await first;
    await tick();
    expect(done).toBe(0); // not before the write that stands for them landed
    expect(store.sent).toEqual(['k=a', 'k=d']);
    store.release();
    await Promise.all(later);
    expect(done).toBe(3);
    expect(store.stored.get('k')).toBe('d');
    // nothing in flight: the next write is sent at once
    const again = writes.write('k', 'e', store.writer('k'));
    expect(store.sent.at(-1)).toBe('k=e');
    store.release();
    await again;
  });

  it('keys are written apart; a failed write fails only its callers, and the queued write is still sent', async () => {
    const writes = new CombinedWrites<string>();
    const sent: string[] = [];
    let calls = 0;
    const failing = (v: string): Promise<void> => {
      sent.push(v);
      return Promise.reject(new Error(`down ${++calls}`));
    };
    await Promise.all([writes.write('a', 'A', async (v) => void sent.push(v)), writes.write('b', 'B', async (v) => void sent.push(v))]);
    expect(sent).toEqual(['A', 'B']);
    const x = writes.write('x', '1', failing);
    const y = writes.write('x', '2', failing);
    await expect(x).rejects.toThrow('down 1');
    await expect(y).rejects.toThrow('down 2');
    expect(sent.slice(2)).toEqual(['1', '2']);
    const thrown = writes.write('z', 'Z', () => {
      throw new Error('synchronous');
    });
    await expect(thrown).rejects.toThrow('synchronous');
    await writes.write('z', 'Z2', async () => undefined);
  });
});
