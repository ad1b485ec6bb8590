import { expect, it } from 'vitest';
import { LINGER_MS, NotificationQueue } from '../../src/observability/notifications/queue.js';
import type { RegistryEvent } from '../../src/observability/notifications/events.js';
import { MemoryDriver } from '../../src/storage/memory.js';

class CountingDriver extends MemoryDriver {
  reads = 0;
  writes = 0;
  failWrites = false;
  override getContent(path: string): Promise<Buffer> {
    this.reads += 1;
    return super.getContent(path);
  }
  override putContent(path: string, content: Buffer | string): Promise<void> {
    this.writes += 1;
    if (this.failWrites) return Promise.reject(new Error('disk full'));
    return super.putContent(path, content);
  }
}

const event = (id: string, repository = 'a'): RegistryEvent => ({ id, timestamp: '2026-01-01T00:00:00.000Z', action: 'pull', target: { repository }, request: { id: 'r', method: 'GET', useragent: 'test' }, actor: {}, source: {} });
const ids = (lines: string[]) => lines.map((l) => (JSON.parse(l) as RegistryEvent).id);

it('reads the batches it wrote from memory, and those of another process from the storage; both are stored', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  // the first event's write starts at once; the two recorded meanwhile go together into the next (group commit)
  await Promise.all([queue.enqueue(event('0'), ['hook']), queue.enqueue(event('1'), ['hook']), queue.enqueue(event('2'), ['hook'])]);
  const [first, mine] = await queue.batches('hook');
  expect([first!.count, mine!.count]).toEqual([1, 2]);
  // a restarted process (or a replica) sees the same batch in the storage
  const other = new NotificationQueue(storage);
  expect(ids(await other.read('hook', mine!.name))).toEqual(['1', '2']);
  expect(storage.reads).toBe(1);
  expect(ids(await queue.read('hook', mine!.name))).toEqual(['1', '2']);
  expect(storage.reads).toBe(1);
  // read once from memory: a second read goes to the storage
  expect(ids(await queue.read('hook', mine!.name))).toEqual(['1', '2']);
  expect(storage.reads).toBe(2);
});

it('writes events queued without durable (pulls) together after the linger: one storage write for many', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  const started = Date.now();
  const stored = Array.from({ length: 100 }, (_, i) => queue.enqueue(event(String(i)), ['hook'], false));
  expect(storage.writes).toBe(0);
  await Promise.all(stored);
  expect(Date.now() - started).toBeGreaterThanOrEqual(LINGER_MS - 5);
  expect(storage.writes).toBe(1);
  const batches = await queue.batches('hook');
  expect(batches.map((b) => b.count)).toEqual([100]);
  expect(ids(await queue.read('hook', batches[0]!.name))).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
});

it('a durable event writes the lingering ones with it at once, in the order they were queued', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  const started = Date.now();
  void queue.enqueue(event('pull-1'), ['hook'], false);
  void queue.enqueue(event('pull-2'), ['hook'], false);
  await queue.enqueue(event('push-3'), ['hook'], true);
  expect(Date.now() - started).toBeLessThan(LINGER_MS);
  void queue.enqueue(event('pull-4'), ['hook'], false);
  await queue.flushed(); // a stop writes what lingers without waiting
  expect(Date.now() - started).toBeLessThan(LINGER_MS);
  const batches = await queue.batches('hook');
  const lines = (await Promise.all(batches.map((b) => queue.read('hook', b.name)))).flat();
  expect(ids(lines)).toEqual(['pull-1', 'pull-2', 'push-3', 'pull-4']);
});

it('reports a failed write of pulls (nobody awaits them) and rejects the durable callers', async () => {
  const storage = new CountingDriver();
  storage.failWrites = true;
  const queue = new NotificationQueue(storage);
  const failed: number[] = [];
  queue.onWriteFailed = (_err, events) => failed.push(events);
  void queue.enqueue(event('pull'), ['hook'], false);
  await expect(queue.enqueue(event('push'), ['hook'], true)).rejects.toThrow('disk full');
  expect(failed).toEqual([2]);
});
