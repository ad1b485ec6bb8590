/**
 * The proxy bench's per-bracket table: each bracket's ratio (the Wharf pull over the mean of the two
 * direct pulls around it) summarized as median (min..max), judged against the targets, with
 * a row for the baseline build when one was measured in the same brackets, and one for Distribution's own
 * pull-through cache.
 */
import { describe, expect, it } from 'vitest';
import { proxyPairsTable } from '../../bench/proxy.js';
import { Results } from '../../bench/report.js';

describe('proxy bench table', () => {
  it('summarizes the ratios per bracket and judges them against 1.15x (cold) and 1.0x (warm)', () => {
    const results = new Results();
    for (const r of [1.1, 1.3, 1.2]) results.add('proxy-pair-cold-200', 'wharf', r);
    for (const r of [0.9, 1.05, 0.95]) results.add('proxy-pair-warm-200', 'wharf', r);
    for (const r of [3, 2.5, 2.8]) results.add('proxy-pair-cold-200@baseline', 'wharf', r);
    for (const r of [0.8, 0.9, 1]) results.add('proxy-pair-warm-200@baseline', 'wharf', r);
    for (const r of [4, 5, 6]) results.add('proxy-pair-cold-200@distribution', 'wharf', r);
    for (const r of [1, 1, 1.1]) results.add('proxy-pair-warm-200@distribution', 'wharf', r);
    results.add('proxy-cpu-cold-200', 'wharf', 0.7);
    results.add('proxy-cpu-cold-200', 'distribution', 0.15);
    results.add('proxy-load', 'wharf', 2);
    const lines = proxyPairsTable(results).split('\n');
    expect(lines[2]).toContain('200 MiB image (1 layer), this build | 1.2x (1.1..1.3, n=3) | ≤ 1.15x | **no** | 0.95x (0.9..1.05, n=3) | ≤ 1.0x | yes | 0.7, n/a, 0.15 |');
    expect(lines[3]).toContain('200 MiB image (1 layer), baseline | 2.8x (2.5..3, n=3) | ≤ 1.15x | **no** | 0.9x (0.8..1, n=3)');
    expect(lines[4]).toContain("200 MiB image (1 layer), Distribution's proxy (the anchor, for comparison) | 5x (4..6, n=3) | ≤ 1.15x | **no** | 1x (1..1.1, n=3)");
    expect(lines.some((l) => l.startsWith('| 5 x 50 MiB'))).toBe(false);
    expect(lines.at(-1)).toMatch(/^1-minute load average at the brackets' start: 2 \(\d+ cores\)\.$/);
  });
});
