/**
 * Giving memory back after an in-server garbage collection run (src/gc/give-back.ts): without
 * `--expose-gc` (as vitest runs), one call runs a full V8 collection: an object only a WeakRef
 * holds is gone after it.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { giveMemoryBack } from '../../src/gc/give-back.js';

it('runs a full V8 collection without --expose-gc, as often as asked', async () => {
  expect(process.execArgv).not.toContain('--expose-gc');
  for (let round = 0; round < 2; round++) {
    let target: object | undefined = { payload: new Array(1000).fill(round) };
    const ref = new WeakRef(target);
    target = undefined;
    await turn(); // a WeakRef keeps its target until the job that made (or last read) it ends
    giveMemoryBack();
    expect(ref.deref()).toBeUndefined();
  }
});
