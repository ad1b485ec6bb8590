import { describe, expect, it, vi } from 'vitest';
import { loadNote, observabilityTable, pairedCosts, totalCost, totalCpuCost } from '../../bench/observability.js';
import { pairOrder, pushSeed } from '../../bench/push-pairs.js';
import { Results, targetHolds } from '../../bench/report.js';
import { formatNumber, formatSummary, percentile, ratio, summarize } from '../../bench/stats.js';
import { settledCpu } from '../../bench/workloads.js';
import { LINGER_MS } from '../../src/observability/notifications/delivery.js';

describe('bench statistics', () => {
  it('summarizes odd and even sample counts by the median', () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, count: 3 });
    expect(summarize([4, 1, 3, 10])).toEqual({ median: 3.5, min: 1, max: 10, count: 4 });
    expect(summarize([])).toBeUndefined();
  });

  it('takes the ratio of Wharf median over Distribution median', () => {
    expect(ratio(summarize([10, 20, 30]), summarize([4, 5, 6]))).toBe(4);
    expect(ratio(summarize([10]), summarize([]))).toBeUndefined();
    expect(ratio(summarize([10]), summarize([0]))).toBeUndefined();
  });

  it('finds percentiles by nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 99)).toBeUndefined();
  });

  it('formats cells with three significant digits below 100', () => {
    expect(formatNumber(1234.6)).toBe('1235');
    expect(formatNumber(56.789)).toBe('56.8');
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatSummary(summarize([1, 2, 3]))).toBe('2 (1..3)');
    expect(formatSummary(undefined)).toBe('n/a');
  });

  it('judges ratio and absolute targets', () => {
    expect(targetHolds({ ratioAtLeast: 5 }, 100, 5.1)).toBe(true);
    expect(targetHolds({ ratioAtLeast: 5 }, 100, 4.9)).toBe(false);
    expect(targetHolds({ ratioAtMost: 1 }, 3, 0.9)).toBe(true);
    expect(targetHolds({ atMost: 10 }, 12, 0.5)).toBe(false);
    expect(targetHolds({ ratioAtLeast: 2 }, 100, undefined)).toBeUndefined();
  });
});

describe('the cost of metrics and notifications (bench --observability)', () => {
  it('reads the cost per round from the samples of the same round, and judges the median against 5 %', () => {
    expect(pairedCosts([100, 200], [90, 200])).toEqual([0.09999999999999998, 0]);
    expect(pairedCosts([100, 200], [90])).toBeUndefined();
    const results = new Results();
    for (const [plain, observed] of [[1000, 990], [500, 480], [1000, 1010]]) {
      results.add('get-tag', 'wharf', plain!);
      results.add('get-tag', 'distribution', observed!);
    }
    results.add('push-chunked', 'wharf', 100);
    results.add('push-chunked', 'distribution', 80);
    for (const [plain, observed] of [[100, 102], [120, 120], [100, 110]]) {
      results.add('cpu-get-tag', 'wharf', plain!);
      results.add('cpu-get-tag', 'distribution', observed!);
    }
    results.add('cpu-get-tag-rate', 'wharf', 100);
    results.add('cpu-get-tag-rate', 'distribution', 103);
    const table = observabilityTable(results);
    // the fixed-rate row has no throughput (the rate is set): its server CPU only
    expect(table).toContain('| manifest GET by tag at a fixed rate (--fixed-rate, both servers alike): CPU only | n/a | n/a | n/a | n/a | 100 → 103 µs/request | 3 % | 3 % (3 %..3 %) | n/a / yes |');
    expect(table).toContain('| manifest GET by tag, as fast as possible | 1000 | 990 | 1 % (-1 %..4 %) | 2.05 % | 107 → 111 µs/request | 3.75 % | 2 % (0 %..10 %) | yes / yes |');
    expect(table).toContain('| blob push, chunked | 100 | 80 | 20 % (20 %..20 %) | 20 % | n/a | n/a | n/a | **no** / n/a |');
    expect(table).not.toContain('HEAD');
  });

  it('reads the cost of the totals: all work over all time (harmonic mean of throughputs), all CPU over all work', () => {
    // 1 GiB at 100 and at 50 MiB/s: 2 GiB in 30.72 s; against 2 GiB in 20.48 s
    expect(totalCost([100, 100], [100, 50])).toBeCloseTo(1 / 3, 10);
    expect(totalCpuCost([4, 6], [5, 5.5])).toBeCloseTo(0.05, 10);
    expect(totalCost([], [1])).toBeUndefined();
    expect(totalCpuCost([1], [])).toBeUndefined();
  });

  it('interleaves the pushes of the two servers pair by pair, each round starting the other way', () => {
    expect([0, 1, 2].map((pair) => pairOrder(['A', 'B'], 1, pair).join(''))).toEqual(['AB', 'BA', 'AB']);
    expect([0, 1].map((pair) => pairOrder(['A', 'B'], 2, pair).join(''))).toEqual(['BA', 'AB']);
    const server = { kind: 'wharf' } as Parameters<typeof pushSeed>[0];
    expect(pushSeed(server, 3, 'chunked', 0)).toBe('w3chunked');
    expect(pushSeed(server, 3, 'chunked', 1)).toBe('w3chunkedr1');
  });
});

describe('settledCpu', () => {
  it('reads the CPU once it stopped moving, so deferred work counts', async () => {
    const readings = [1, 1.5, 1.8, 1.81, 1.81];
    let i = 0;
    expect(await settledCpu(async () => readings[Math.min(i++, readings.length - 1)]!, 5)).toBe(1.81);
  });

  it('waits longer than the notification delivery lingers (a pause of 1 s is not quiet)', async () => {
    // a server that idles for LINGER_MS, then delivers: sampled every quiet window, the delivery shows
    let now = 0;
    const cpu = async (): Promise<number> => now;
    vi.useFakeTimers();
    try {
      const settled = settledCpu(cpu);
      setTimeout(() => (now = 0.5), LINGER_MS + 10); // the delivery after the linger
      await vi.advanceTimersByTimeAsync(20_000);
      expect(await settled).toBe(0.5);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is undefined when the process is gone', async () => {
    expect(await settledCpu(async () => undefined)).toBeUndefined();
  });
});

describe('loadNote', () => {
  it('says a busy run cannot show a cost of a few per cent, and a quiet one that it was quiet', () => {
    expect(loadNote(12.5, 9, 2)).toMatch(/12\.5 at the start, 9 at the end, on 2 cores: .*cannot be read/);
    expect(loadNote(0.5, 1.2, 2)).toMatch(/the machine was quiet/);
  });
});
