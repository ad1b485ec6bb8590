import { expect, it } from 'vitest';
import { eventHead, eventTail, PendingEvent, queuedText, type QueuedEvent } from '../../src/observability/notifications/event-text.js';
import { LINGER_MS, MEMORY_EVENTS, NotificationQueue, STORED_POLL_MS, type BatchRef } from '../../src/observability/notifications/queue.js';
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
const ids = (lines: readonly QueuedEvent[]) => lines.map((l) => (JSON.parse(queuedText(l)) as RegistryEvent).id);
const pull = (queue: NotificationQueue, id: string) => void queue.enqueue(event(id), ['hook'], false);
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every event of the queue in its order, as `queue` reads it. */
async function all(queue: NotificationQueue, items?: BatchRef[]): Promise<string[]> {
  const lines = await Promise.all((items ?? (await queue.pending('hook', false))).map((b) => queue.read('hook', b)));
  return ids(lines.flat());
}

it('stores durable events at once (group commit), read back from memory by this process and from the storage by another', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  // the first event's write starts at once; the two recorded meanwhile go together into the next
  await Promise.all([queue.enqueue(event('0'), ['hook']), queue.enqueue(event('1'), ['hook']), queue.enqueue(event('2'), ['hook'])]);
  const [first, mine] = await queue.pending('hook');
  expect([first!.count, mine!.count, first!.segment, mine!.segment]).toEqual([1, 2, undefined, undefined]);
  // a restarted process (or a replica) sees the same batches in the storage
  const other = new NotificationQueue(storage);
  expect(await all(other)).toEqual(['0', '1', '2']);
  expect(storage.reads).toBe(2);
  expect(ids(await queue.read('hook', mine!))).toEqual(['1', '2']);
  expect(storage.reads).toBe(2);
});

it('keeps pulls in memory while the delivery keeps up: no storage write, delivered and gone', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  const woken: string[] = [];
  queue.onQueued = (endpoint) => woken.push(endpoint);
  queue.setLive('hook', true);
  for (let i = 0; i < 100; i++) pull(queue, String(i));
  await pause(LINGER_MS * 2);
  expect(storage.writes).toBe(0);
  expect(woken).toEqual(['hook']); // the first event of a run wakes the delivery
  const items = await queue.pending('hook');
  expect(items.map((b) => b.count)).toEqual([100]);
  expect(await all(queue, items)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
  pull(queue, 'next'); // sealed: a later pull opens a run after it
  await queue.replace('hook', items[0]!, []);
  expect(await all(queue)).toEqual(['next']);
  expect(storage.writes).toBe(0);
});

it('stores pulls within the linger while the delivery does not keep up (not started, another process delivering)', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  const started = Date.now();
  for (let i = 0; i < 100; i++) pull(queue, String(i));
  expect(storage.writes).toBe(0);
  await pause(LINGER_MS + 50);
  expect(Date.now() - started).toBeGreaterThanOrEqual(LINGER_MS);
  expect(storage.writes).toBe(1);
  expect((await new NotificationQueue(storage).pending('hook')).map((b) => b.count)).toEqual([100]);
});

it('a backlog over MEMORY_EVENTS goes to the storage, in order', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  for (let i = 0; i < MEMORY_EVENTS; i++) pull(queue, String(i));
  expect(storage.writes).toBe(0);
  pull(queue, String(MEMORY_EVENTS));
  await queue.flushed();
  expect(await all(new NotificationQueue(storage))).toEqual(Array.from({ length: MEMORY_EVENTS + 1 }, (_, i) => String(i)));
});

it('when the delivery falls behind (receiver down), the pulls in memory are stored at once under their place in the order', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  pull(queue, 'pull-1');
  pull(queue, 'pull-2');
  const taken = await queue.pending('hook'); // the delivery takes the first run (its POST under way)
  pull(queue, 'pull-3');
  await queue.enqueue(event('push-4'), ['hook'], true); // stored before the answer; pull-3 with it
  expect(await all(new NotificationQueue(storage))).toEqual(['pull-3', 'push-4']);
  queue.setLive('hook', false); // the POST failed
  pull(queue, 'pull-5');
  await queue.flushed();
  const stored = await new NotificationQueue(storage).pending('hook');
  expect(await all(new NotificationQueue(storage), stored)).toEqual(['pull-1', 'pull-2', 'pull-3', 'push-4', 'pull-5']);
  // the retry of the taken run is acknowledged: its stored batch leaves the queue
  await queue.replace('hook', taken[0]!, []);
  expect(await all(new NotificationQueue(storage))).toEqual(['pull-3', 'push-4', 'pull-5']);
});

it('a stop stores every event in memory; the next process delivers them in order', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  pull(queue, 'pull-1');
  await queue.pending('hook');
  pull(queue, 'pull-2');
  await queue.flushed();
  expect(await all(new NotificationQueue(storage))).toEqual(['pull-1', 'pull-2']);
});

it('pulls in memory come before a later push stored at once, in the order of one repository', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  pull(queue, 'pull-1');
  const taken = await queue.pending('hook');
  await queue.enqueue(event('push-2'), ['hook'], true);
  pull(queue, 'pull-3');
  const items = await queue.pending('hook');
  expect(items.map((b) => [b.count, b.segment !== undefined])).toEqual([[1, true], [1, false], [1, true]]);
  expect(await all(queue, items)).toEqual(['pull-1', 'push-2', 'pull-3']);
  expect(items[0]!.segment).toBe(taken[0]!.segment);
  // a crash now would lose pull-1 and pull-3, never reorder: the storage holds push-2 only
  expect(await all(new NotificationQueue(storage))).toEqual(['push-2']);
});

it('a run delivered in parts keeps the rest in memory, and stores the rest when spilled', async () => {
  const storage = new CountingDriver();
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  for (const id of ['1', '2', '3']) pull(queue, id);
  const [item] = await queue.pending('hook');
  await queue.replace('hook', item!, (await queue.read('hook', item!)).slice(1));
  expect([item!.count, await all(queue)]).toEqual([2, ['2', '3']]);
  queue.setLive('hook', false);
  await queue.flushed();
  expect(await all(new NotificationQueue(storage))).toEqual(['2', '3']);
  await queue.replace('hook', item!, (await queue.read('hook', item!)).slice(1));
  expect(await all(new NotificationQueue(storage))).toEqual(['3']);
  await queue.replace('hook', item!, []);
  expect(await new NotificationQueue(storage).pending('hook')).toEqual([]);
});

it('reports a failed write of pulls (nobody awaits them) and rejects the durable callers', async () => {
  const storage = new CountingDriver();
  storage.failWrites = true;
  const queue = new NotificationQueue(storage);
  const failed: number[] = [];
  queue.onWriteFailed = (_err, events) => failed.push(events);
  pull(queue, 'pull');
  await expect(queue.enqueue(event('push'), ['hook'], true)).rejects.toThrow('disk full');
  expect(failed).toEqual([2]);
});

it("makes a pending pull's text once, the same from memory, in the storage and for every endpoint; lists the storage at most every STORED_POLL_MS while it holds none", async () => {
  const storage = new CountingDriver();
  let lists = 0;
  const list = storage.list.bind(storage);
  storage.list = (path: string) => {
    lists += 1;
    return list(path);
  };
  const queue = new NotificationQueue(storage);
  queue.setLive('hook', true);
  queue.setLive('other', true);
  const pending = new PendingEvent(eventHead('pull', '{"repository":"a"}'), 'req-1', eventTail(',"method":"GET"', '{}', '{}'), Date.now());
  void queue.enqueue(pending, ['hook', 'other'], false);
  const [kept] = await queue.pending('hook');
  const [kept1] = await queue.read('hook', kept!);
  const text = queuedText(kept1!);
  expect(JSON.parse(text)).toMatchObject({ action: 'pull', target: { repository: 'a' }, request: { id: 'req-1', method: 'GET' } });
  // the other endpoint falls behind: its copy is stored, with the same text
  queue.setLive('other', false);
  await queue.flushed();
  const [stored] = await queue.pending('other');
  expect(stored!.segment).toBeUndefined();
  expect(await new NotificationQueue(storage).read('other', stored!)).toEqual([text]);
  // the delivery's next looks within STORED_POLL_MS trust the empty listing; another process's batch shows after it
  lists = 0;
  await queue.replace('hook', kept!, []);
  await queue.pending('hook');
  await queue.pending('hook');
  expect(lists).toBe(1);
  await new NotificationQueue(storage).enqueue(event('elsewhere'), ['hook']);
  expect(await queue.pending('hook')).toEqual([]);
  await pause(STORED_POLL_MS + 50);
  expect(await all(queue, await queue.pending('hook'))).toEqual(['elsewhere']);
});
