import { describe, expect, it } from 'vitest';
import { partSizeAt, planParts, S3_MAX_PART, S3_MIN_PART, type PlannedPart } from '../../src/storage/multipart-plan.js';

const MiB = 1024 * 1024;
const limits = { partSize: 10 * MiB, minPartSize: S3_MIN_PART, maxCopySize: 64 * MiB, canCopy: true };

/** The source bytes each part covers, flattened, to compare with the sources in order. */
function covered(plan: PlannedPart[]): { key: string; start: number; end: number }[] {
  const pieces = plan.flatMap((p) => ('copy' in p ? [p.copy] : p.pieces));
  const merged: { key: string; start: number; end: number }[] = [];
  for (const p of pieces) {
    const last = merged.at(-1);
    if (last && last.key === p.key && last.end + 1 === p.start) last.end = p.end;
    else merged.push({ ...p });
  }
  return merged;
}

/** Every part but the last is at least the minimum; sizes match their pieces. */
function checkLimits(plan: PlannedPart[]): void {
  for (const [i, p] of plan.entries()) {
    const size = 'copy' in p ? p.copy.end - p.copy.start + 1 : p.pieces.reduce((n, x) => n + x.end - x.start + 1, 0);
    expect(p.size).toBe(size);
    if (i < plan.length - 1) expect(p.size).toBeGreaterThanOrEqual(S3_MIN_PART);
    if ('copy' in p) expect(p.size).toBeLessThanOrEqual(limits.maxCopySize);
  }
}

describe('planParts', () => {
  it('copies sources of 5 MiB and more on the store side, streams small ones into full parts', () => {
    const sources = [
      { key: 'a', size: 8 * MiB },
      { key: 'b', size: 1 * MiB },
      { key: 'c', size: 2 * MiB },
      { key: 'd', size: 20 * MiB },
      { key: 'e', size: 3 },
    ];
    const plan = planParts(sources, limits);
    checkLimits(plan);
    expect(covered(plan)).toEqual(sources.map((s) => ({ key: s.key, start: 0, end: s.size - 1 })));
    expect(plan[0]).toEqual({ copy: { key: 'a', start: 0, end: 8 * MiB - 1 }, size: 8 * MiB });
    // b and c are too small to copy: streamed, filled up from d to a whole part, then the rest of d is copied
    expect(plan[1]).toMatchObject({ size: 10 * MiB });
    expect('copy' in plan[2]! && plan[2].copy).toEqual({ key: 'd', start: 7 * MiB, end: 20 * MiB - 1 });
    expect(plan.at(-1)).toEqual({ pieces: [{ key: 'e', start: 0, end: 2 }], size: 3 });
  });

  it('streams everything in parts of partSize when the store cannot copy parts', () => {
    const sources = Array.from({ length: 9 }, (_, i) => ({ key: `p${i}`, size: 3 * MiB + i }));
    const plan = planParts(sources, { ...limits, canCopy: false });
    checkLimits(plan);
    expect(plan.every((p) => 'pieces' in p)).toBe(true);
    expect(plan.slice(0, -1).every((p) => p.size === 10 * MiB)).toBe(true);
    expect(covered(plan)).toEqual(sources.map((s) => ({ key: s.key, start: 0, end: s.size - 1 })));
  });

  it('splits a source larger than the copy limit without leaving a remainder under the minimum', () => {
    const sources = [{ key: 'big', size: 2 * 64 * MiB + 1 * MiB }];
    const plan = planParts(sources, limits);
    checkLimits(plan);
    expect(plan.every((p) => 'copy' in p)).toBe(true);
    expect(plan.map((p) => p.size)).toEqual([64 * MiB, 60 * MiB, 5 * MiB]);
    expect(covered(plan)).toEqual([{ key: 'big', start: 0, end: 129 * MiB - 1 }]);
  });

  it('plans nothing for no bytes', () => {
    expect(planParts([], limits)).toEqual([]);
    expect(planParts([{ key: 'empty', size: 0 }], limits)).toEqual([]);
  });
});

describe('partSizeAt', () => {
  const GiB = 1024 * MiB;
  const TiB = 1024 * GiB;
  /** Parts needed for `total` bytes when each part is `fraction` of its planned size (at least 5 MiB, the last excepted). */
  function partsFor(total: number, chunkSize: number, maxParts: number, fraction: number): { parts: number; largest: number } {
    let parts = 0;
    let largest = 0;
    for (let at = 0; at < total; parts++) {
      const size = Math.max(S3_MIN_PART, Math.ceil(partSizeAt(at, chunkSize, maxParts) * fraction));
      largest = Math.max(largest, size);
      at += size;
    }
    return { parts, largest };
  }

  it('keeps the configured size while it is enough, then grows with the bytes stored, within 5 MiB-5 GiB', () => {
    expect(partSizeAt(0, 10 * MiB)).toBe(10 * MiB);
    expect(partSizeAt(6 * GiB, 10 * MiB)).toBe(10 * MiB);
    expect(partSizeAt(20 * GiB, 10 * MiB)).toBe(Math.ceil((20 * GiB) / 625));
    expect(partSizeAt(0, 1)).toBe(S3_MIN_PART);
    expect(partSizeAt(5 * TiB, 10 * MiB, 10)).toBe(S3_MAX_PART);
  });

  it('needs at most 10,000 parts up to 5 TiB, also when every part ends at half its size (small PATCHes)', () => {
    for (const fraction of [1, 0.5]) {
      expect(partsFor(5 * TiB, 10 * MiB, 10_000, fraction).parts).toBeLessThanOrEqual(10_000);
      expect(partsFor(5 * TiB, 5 * MiB, 10_000, fraction).parts).toBeLessThanOrEqual(10_000);
    }
    // 100 GiB (distribution#4572) in 10 MiB-and-growing parts, none over 170 MiB
    expect(partsFor(100 * GiB, 10 * MiB, 10_000, 1).largest).toBeLessThan(170 * MiB);
  });

  it('with the limit lowered to 100, a 2 GiB upload still fits, whatever the PATCH sizes', () => {
    for (const fraction of [1, 0.5]) expect(partsFor(2 * GiB, 5 * MiB, 100, fraction).parts).toBeLessThanOrEqual(100);
  });
});
