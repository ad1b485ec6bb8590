/**
 * The admin index's change queue (src/registry/admin-index/change-queue.ts): batches applied one at a
 * time in the order heard, an event heard twice before its batch applied once, generations counted
 * for events that are not queued, and the events of a build kept and applied again to its result.
 */
import { describe, expect, it } from 'vitest';
import { ChangeQueue } from '../../src/registry/admin-index/change-queue.js';

/** A queue whose batches are recorded; each batch waits for `gate` when one is set. */
function recorded() {
  const batches: string[][] = [];
  let gate: Promise<void> | undefined;
  const queue = new ChangeQueue(async (batch) => {
    batches.push(batch);
    await gate;
  });
  return { queue, batches, hold: (p: Promise<void> | undefined) => (gate = p) };
}

describe('ChangeQueue', () => {
  it('applies batches one at a time, in order, each event once per batch', async () => {
    const { queue, batches, hold } = recorded();
    let release = () => {};
    hold(new Promise<void>((resolve) => (release = resolve)));
    queue.hear('t\ta\tx', true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([['t\ta\tx']]);
    queue.hear('t\tb\ty', true); // heard while the first batch is being applied
    queue.hear('t\tb\ty', true);
    expect(queue.pending).toBe(true);
    hold(undefined);
    release();
    await queue.drain();
    expect(batches).toEqual([['t\ta\tx'], ['t\tb\ty']]);
    expect(queue.pending).toBe(false);
  });

  it('counts every event in its repository generation, queued or not', async () => {
    const { queue, batches } = recorded();
    queue.hear('t\ta\tx', false);
    queue.hear('m\ta\td', true);
    queue.hear('t\tb\tx', false);
    await queue.drain();
    expect([queue.generation('a'), queue.generation('b'), queue.generation('c')]).toEqual([2, 1, 0]);
    expect(batches).toEqual([['m\ta\td']]);
  });

  it('keeps what a build saw applied and applies it again after requeue; forget drops it', async () => {
    const { queue, batches } = recorded();
    queue.keep();
    queue.hear('t\ta\tx', true);
    await queue.drain();
    expect(queue.quiet).toBe(false); // applied during the build: the build's result may miss it
    queue.keep(); // a second build while one keeps: the same list
    queue.requeue();
    await queue.drain();
    expect(batches).toEqual([['t\ta\tx'], ['t\ta\tx']]);
    expect(queue.quiet).toBe(true);
    queue.keep();
    queue.hear('t\ta\ty', true);
    await queue.drain();
    queue.forget();
    queue.requeue();
    await queue.drain();
    expect(batches).toHaveLength(3);
  });
});
