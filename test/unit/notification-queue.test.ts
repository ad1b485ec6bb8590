import { expect, it } from 'vitest';
import { NotificationQueue } from '../../src/observability/notifications/queue.js';
import type { RegistryEvent } from '../../src/observability/notifications/events.js';
import { MemoryDriver } from '../../src/storage/memory.js';

class CountingDriver extends MemoryDriver {
  reads = 0;
  override getContent(path: string): Promise<Buffer> {
    this.reads += 1;
    return super.getContent(path);
  }
}

const event = (id: string): RegistryEvent => ({ id, timestamp: '2026-01-01T00:00:00.000Z', action: 'pull', target: { repository: 'a' }, request: { id: 'r', method: 'GET', useragent: 'test' }, actor: {}, source: {} });

it('reads the batches it wrote from memory, and those of another process from the storage; both are stored', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  // the first event's write starts at once; the two recorded meanwhile go together into the next (group commit)
  await Promise.all([queue.enqueue(event('0'), ['hook']), queue.enqueue(event('1'), ['hook']), queue.enqueue(event('2'), ['hook'])]);
  const [first, mine] = await queue.batches('hook');
  expect([first!.count, mine!.count]).toEqual([1, 2]);
  // a restarted process (or a replica) sees the same batch in the storage
  const other = new NotificationQueue(storage);
  expect((await other.read('hook', mine!.name)).map((e) => e.id)).toEqual(['1', '2']);
  expect(storage.reads).toBe(1);
  expect((await queue.read('hook', mine!.name)).map((e) => e.id)).toEqual(['1', '2']);
  expect(storage.reads).toBe(1);
  // read once from memory: a second read goes to the storage
  expect((await queue.read('hook', mine!.name)).map((e) => e.id)).toEqual(['1', '2']);
  expect(storage.reads).toBe(2);
});
