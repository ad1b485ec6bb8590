/**
 * Garbage collection's compact digest set (src/gc/digest-flags.ts) and the mark set built on it
 * (src/gc/mark.ts): inserts, lookups, flags, growth with and without a reservation, keys that share a
 * home slot (probing past them and around the table's end), digests of both algorithms, and agreement
 * with a Map under random use.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestFlags, digestKey } from '../../src/gc/digest-flags.js';
import { MarkSet } from '../../src/gc/mark.js';
import type { Digest } from '../../src/oci/digest.js';

const digest = (i: number): Digest => `sha256:${createHash('sha256').update(String(i)).digest('hex')}` as Digest;

describe('digestKey', () => {
  it('reads the first 32 hex characters after the colon as 4 words, either case', () => {
    const key = new Uint32Array(4);
    digestKey(`sha256:0123456789abcdefFEDCBA9876543210${'0'.repeat(32)}`, key);
    expect([...key]).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
    digestKey(`sha512:${'ff'.repeat(64)}`, key);
    expect([...key]).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });
});

describe('DigestFlags', () => {
  it('holds each digest once with the union of its flags, and finds every one after growing', () => {
    const set = new DigestFlags();
    const initial = set.slots;
    for (let i = 0; i < 20_000; i++) set.set(digest(i), 1 << (i % 3));
    for (let i = 0; i < 20_000; i += 2) set.set(digest(i), 8);
    expect(set.size).toBe(20_000);
    expect(set.slots).toBeGreaterThan(initial);
    expect(set.size / set.slots).toBeLessThanOrEqual(0.75);
    for (let i = 0; i < 20_000; i++) {
      expect(set.has(digest(i))).toBe(true);
      expect(set.get(digest(i))).toBe((1 << (i % 3)) | (i % 2 === 0 ? 8 : 0));
    }
    expect(set.has(digest(20_000))).toBe(false);
    expect(set.get(digest(20_000))).toBe(0);
  });

  it('holds a digest with no flags apart from an absent one', () => {
    const set = new DigestFlags();
    set.set(digest(1), 0);
    expect(set.has(digest(1))).toBe(true);
    expect(set.get(digest(1))).toBe(0);
    expect(set.size).toBe(1);
  });

  it('does not grow before the reserved count, and keeps what it held when reserving', () => {
    const set = new DigestFlags();
    for (let i = 0; i < 100; i++) set.set(digest(i), 1);
    set.reserve(50_000);
    const slots = set.slots;
    expect(slots).toBeGreaterThanOrEqual(50_000 / 0.75);
    for (let i = 0; i < 100; i++) expect(set.get(digest(i))).toBe(1);
    for (let i = 100; i < 50_000; i++) set.set(digest(i), 2);
    expect(set.slots).toBe(slots);
    set.reserve(10); // smaller than held: nothing changes
    expect(set.slots).toBe(slots);
    for (let i = 0; i < 50_000; i += 97) expect(set.get(digest(i))).toBe(i < 100 ? 1 : 2);
  });

  it('probes past keys sharing a home slot, also around the end of the table', () => {
    const set = new DigestFlags();
    // the home slot comes from the first 8 hex characters: these all start at the last slot, or the first
    const tail = (n: number) => n.toString(16).padStart(24, '0') + '0'.repeat(32); // differs within the compared 128 bits
    const last = Array.from({ length: 40 }, (_, i) => `sha256:ffffffff${tail(i)}`);
    const first = Array.from({ length: 40 }, (_, i) => `sha256:00000000${tail(i)}`);
    last.forEach((d, i) => set.set(d, 1 + (i % 2)));
    first.forEach((d) => set.set(d, 4));
    expect(set.size).toBe(80);
    last.forEach((d, i) => expect(set.get(d)).toBe(1 + (i % 2)));
    first.forEach((d) => expect(set.get(d)).toBe(4));
    expect(set.has(`sha256:ffffffff${tail(40)}`)).toBe(false);
    expect(set.has(`sha256:00000000${tail(40)}`)).toBe(false);
    // a digest differing only in its last compared word, and one past the compared 128 bits (the same key)
    const base = `sha256:${'ab'.repeat(16)}`;
    set.set(`${base}${'0'.repeat(32)}`, 8);
    expect(set.has(`sha256:${'ab'.repeat(15)}ac${'0'.repeat(32)}`)).toBe(false);
    expect(set.get(`${base}${'f'.repeat(32)}`)).toBe(8);
  });

  it('agrees with a Map under random use', () => {
    const set = new DigestFlags(500);
    const model = new Map<string, number>();
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) % n);
    for (let step = 0; step < 30_000; step++) {
      const d = digest(random(8000));
      if (random(2) === 0) {
        const bits = random(8);
        set.set(d, bits);
        model.set(d, (model.get(d) ?? 0) | bits);
      } else {
        expect(set.has(d)).toBe(model.has(d));
        expect(set.get(d)).toBe(model.get(d) ?? 0);
      }
    }
    expect(set.size).toBe(model.size);
  });
});

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
