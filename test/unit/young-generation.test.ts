/**
 * The young-generation cap (src/young-generation.ts): under a churn of short-lived objects V8's young
 * generation stays at the cap (one growth step past it at most) instead of growing to 32 MiB.
 */
import { describe, expect, it } from 'vitest';
import { capYoungGeneration, youngGenerationBytes } from '../../src/young-generation.js';

const MiB = 1024 * 1024;

/** Allocates short-lived objects (a few survive each turn) for `turns` event-loop turns. @returns the largest young generation seen */
async function churn(turns: number): Promise<number> {
  let kept: object[] = [];
  let largest = 0;
  for (let turn = 0; turn < turns; turn++) {
    for (let i = 0; i < 20_000; i++) kept.push({ i, text: `object ${i}`, pair: [i, turn] });
    kept = kept.slice(-500);
    await new Promise((resolve) => setImmediate(resolve));
    largest = Math.max(largest, youngGenerationBytes());
  }
  return largest;
}

describe('capYoungGeneration', () => {
  it('keeps the young generation at the cap under churn', async () => {
    const stop = capYoungGeneration(4 * MiB);
    try {
      expect(await churn(300)).toBeLessThanOrEqual(8 * MiB);
    } finally {
      stop();
    }
  });
});
