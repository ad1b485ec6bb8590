/**
 * The summary statistics of a benchmark: median and range of each server's samples, and the ratio of
 * Wharf's median to Distribution's. Pure functions, unit-tested in test/unit/bench-stats.test.ts.
 */

/** The median, minimum and maximum of a list of samples. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** how many samples */
  count: number;
}

/**
 * Summarizes `samples` (the median of an even count is the mean of the two middle values).
 * @returns undefined for an empty list
 */
export function summarize(samples: readonly number[]): Summary | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, count: sorted.length };
}

/**
 * Wharf's median over Distribution's (Wharf/Distribution).
 * @returns undefined when either side has no samples or Distribution's median is 0
 */
export function ratio(wharf: Summary | undefined, distribution: Summary | undefined): number | undefined {
  if (!wharf || !distribution || distribution.median === 0) return undefined;
  return wharf.median / distribution.median;
}

/** A number for a table cell: 3 significant digits below 100, whole numbers above (1234, 56.7, 0.123). */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toString();
  if (abs === 0) return '0';
  return Number(value.toPrecision(3)).toString();
}

/** `median (min..max)` for a table cell, or `n/a`. */
export function formatSummary(summary: Summary | undefined): string {
  if (!summary) return 'n/a';
  if (summary.count === 1) return formatNumber(summary.median);
  return `${formatNumber(summary.median)} (${formatNumber(summary.min)}..${formatNumber(summary.max)})`;
}

/**
 * The `p`-th percentile (0..100) of `samples` by the nearest-rank method.
 * @returns undefined for an empty list
 */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
