/**
 * The admin index gives the heap its walk grew back once the walk is done (src/registry/admin-index/
 * admin-index.ts, gc/give-back.ts): a full collection after each walk, none while the index only
 * applies changes.
 */
import { expect, it, vi } from 'vitest';
import { giveMemoryBack } from '../../src/gc/give-back.js';
import { Registry } from '../../src/registry/registry.js';
import { MemoryDriver } from '../../src/storage/memory.js';

vi.mock('../../src/gc/give-back.js', () => ({ giveMemoryBack: vi.fn() }));

it('runs one full collection after the walk of a start without a snapshot', async () => {
  const registry = new Registry(new MemoryDriver());
  expect(giveMemoryBack).not.toHaveBeenCalled();
  await registry.index.ready();
  await vi.waitFor(() => expect(giveMemoryBack).toHaveBeenCalledTimes(1));
  await registry.index.stop();
});
