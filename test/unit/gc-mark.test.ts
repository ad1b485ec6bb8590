/**
 * Marking one repository at a time (src/gc/mark.ts) and what it counts (src/gc/kept.ts): a blob only
 * the grace period needs is told apart from one a tag needs, even when the tag's repository is marked
 * after the young manifest's, and untagged manifests kept are counted apart from the grace period.
 */
import { describe, expect, it } from 'vitest';
import { KeptTally } from '../../src/gc/kept.js';
import { MarkSet, markRepository, type MarkOptions } from '../../src/gc/mark.js';
import type { RepositoryScan } from '../../src/gc/scan.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';

/** Digest `n`: distinct in its first 128 bits, the part a DigestTable keys on. */
const d = (n: number): Digest => `sha256:${n.toString(16).padStart(8, '0')}${'0'.repeat(56)}` as Digest;
const NOW = Date.UTC(2026, 11, 6, 12);
const HOUR = 3_600_000;

/** A repository of image manifests: `images` maps a manifest to its blobs; `tags` to the tagged manifest. */
function repository(name: string, images: Record<number, number[]>, tags: Record<string, number>): RepositoryScan {
  const manifests = new Map(Object.entries(images).map(([m, blobs]) => [d(Number(m)), { blobs: blobs.map(d), children: [] }]));
  return {
    name: name as RepositoryName,
    tags: new Map(Object.entries(tags).map(([t, m]) => [t as Tag, { digest: d(m), pushedAt: new Date(NOW - 2 * HOUR).toISOString() }])),
    revisions: new Set(manifests.keys()),
    links: [...new Set(Object.values(images).flat())].map(d),
    manifests,
  };
}

/** Options where every object is two hours old, except those of the `young` digests (modified a minute ago). */
function options(tally: KeptTally, deleteUntagged: boolean, young: readonly Digest[] = []): MarkOptions {
  return {
    cutoff: NOW - HOUR,
    deleteUntagged,
    ignoredTags: new Set(),
    references: async () => undefined,
    modTimes: async (paths) => paths.map((p) => (young.some((y) => p.endsWith(`/${y.slice(7)}`)) ? NOW - 60_000 : NOW - 2 * HOUR)),
    tally,
  };
}

describe('markRepository', () => {
  it('marks a young untagged manifest’s blobs as needed by the grace period only, until a tag elsewhere needs them too', async () => {
    const marks = new MarkSet();
    for (const n of [1, 2, 3, 10, 11, 12]) marks.stored(d(n));
    const tally = new KeptTally(HOUR);
    // repository a: manifest 10 untagged and young, with blobs 1 and 2; repository b (marked after): manifest 11 tagged, with blob 2
    const a = await markRepository(repository('a', { 10: [1, 2] }, {}), marks, options(tally, true, [d(10)]));
    expect(a.manifests).toEqual([]);
    expect(marks.isMarked(d(1)) && !marks.isMarkedBeyondGrace(d(1))).toBe(true);
    expect(marks.isMarkedBeyondGrace(d(2))).toBe(false);
    await markRepository(repository('b', { 11: [2] }, { v1: 11 }), marks, options(tally, true));
    expect(marks.isMarkedBeyondGrace(d(2))).toBe(true);
    expect(marks.isMarked(d(3))).toBe(false);
    expect(tally.report()).toMatchObject({ keptByGrace: { manifests: 1 }, untaggedKept: 0 });
  });

  it('counts untagged manifests kept where they are not deleted, and makes them candidates where they are', async () => {
    const image = { 10: [1], 11: [2] };
    const kept = new KeptTally(HOUR);
    const keeping = await markRepository(repository('a', image, { v1: 10 }), new MarkSet(), options(kept, false));
    expect(keeping.manifests).toEqual([]);
    expect(kept.report()).toMatchObject({ untaggedKept: 1, keptByGrace: { manifests: 0, blobs: 0, collectableBy: null } });
    const deleting = await markRepository(repository('a', image, { v1: 10 }), new MarkSet(), options(new KeptTally(HOUR), true));
    expect(deleting.manifests).toEqual([{ repository: 'a', digest: d(11) }]);
  });

  it('keeps the blob of a young link, remembering the link’s time for when it can go', async () => {
    const marks = new MarkSet();
    marks.stored(d(1));
    const repo = repository('a', {}, {});
    repo.links.push(d(1));
    await markRepository(repo, marks, options(new KeptTally(HOUR), true, [d(1)]));
    expect(marks.isMarked(d(1))).toBe(true);
    expect(marks.isMarkedBeyondGrace(d(1))).toBe(false);
    expect(marks.linkedAt(d(1))).toBe(NOW - 60_000);
    expect(marks.linkedAt(d(2))).toBe(-Infinity);
  });
});

describe('KeptTally', () => {
  it('reports when everything the grace period kept can go, and nothing without a grace period', () => {
    const tally = new KeptTally(HOUR);
    tally.manifest(NOW - 30_000);
    tally.blob(100, NOW - 10_000);
    tally.blob(50, NOW - 50_000);
    expect(tally.report().keptByGrace).toEqual({ manifests: 1, blobs: 2, bytes: 150, collectableBy: new Date(NOW - 10_000 + HOUR).toISOString() });
    const none = new KeptTally(0);
    none.blob(100, NOW);
    none.untagged(2);
    expect(none.report()).toEqual({ keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null }, untaggedKept: 2 });
  });
});
