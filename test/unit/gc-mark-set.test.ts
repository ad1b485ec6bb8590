/**
 * Garbage collection's mark set (src/gc/mark.ts), on a digest table without ids: stored, marked,
 * marked by the grace period only, and the newest recent link told apart.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MarkSet } from '../../src/gc/mark.js';
import type { Digest } from '../../src/oci/digest.js';

const digest = (i: number): Digest => `sha256:${createHash('sha256').update(String(i)).digest('hex')}` as Digest;

describe('MarkSet', () => {
  it('tells stored, marked, marked by the grace period only, and the newest recent link apart', () => {
    const marks = new MarkSet();
    marks.expect(10);
    marks.stored(digest(1));
    marks.stored(digest(2));
    marks.stored(digest(3));
    marks.mark(digest(1));
    marks.mark(digest(2), true);
    marks.markLinked(digest(3), 2000);
    marks.markLinked(digest(3), 1000);
    marks.mark(digest(4));
    expect([1, 2, 3, 4, 5].map((i) => marks.isStored(digest(i)))).toEqual([true, true, true, false, false]);
    expect([1, 2, 3, 4, 5].map((i) => marks.isMarked(digest(i)))).toEqual([true, true, true, true, false]);
    expect([1, 2, 3, 4, 5].map((i) => marks.isMarkedBeyondGrace(digest(i)))).toEqual([true, false, false, true, false]);
    expect([1, 2, 3, 4, 5].map((i) => marks.isStoredUnneeded(digest(i)))).toEqual([false, true, true, false, false]);
    expect([1, 2, 3, 4, 5].map((i) => marks.isStoredAndMarked(digest(i)))).toEqual([true, false, false, false, false]);
    expect(marks.linkedAt(digest(3))).toBe(2000);
    expect(marks.linkedAt(digest(1))).toBe(-Infinity);
    expect(marks.size).toBe(4);
  });
});
