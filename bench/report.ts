/**
 * The bench's results: samples per metric and server, and the Markdown table with medians,
 * ranges, the ratio Wharf/Distribution and whether each target of issue 7 holds.
 */
import { formatNumber, formatSummary, ratio, summarize } from './stats.js';
import type { ServerKind } from './servers.js';

/** A target: a minimum or maximum ratio Wharf/Distribution, or a maximum for Wharf's own median. */
export type Target = { ratioAtLeast: number } | { ratioAtMost: number } | { atMost: number };

/** A metric of the table. */
export interface Metric {
  key: string;
  label: string;
  unit: string;
  target?: Target;
}

/** Samples per metric and server, plus the machine's ceilings and notes. */
export class Results {
  readonly samples = new Map<string, Record<ServerKind, number[]>>();
  readonly ceilings = new Map<string, number[]>();
  readonly notes: string[] = [];

  /** Records one sample of `metric` for `server`. */
  add(metric: string, server: ServerKind, value: number): void {
    const entry = this.samples.get(metric) ?? { wharf: [], distribution: [] };
    entry[server].push(value);
    this.samples.set(metric, entry);
  }

  /** Gives `metric` a row even without samples (its empty cells read n/a): for a workload that failed. */
  expectRow(metric: string): void {
    if (!this.samples.has(metric)) this.samples.set(metric, { wharf: [], distribution: [] });
  }

  /** Records one sample of a machine ceiling (MiB/s). */
  addCeiling(name: string, value: number): void {
    this.ceilings.set(name, [...(this.ceilings.get(name) ?? []), value]);
  }
}

/** Whether `target` holds for Wharf's median and the ratio; undefined when it cannot be judged. */
export function targetHolds(target: Target, wharfMedian: number | undefined, r: number | undefined): boolean | undefined {
  if ('atMost' in target) return wharfMedian === undefined ? undefined : wharfMedian <= target.atMost;
  if (r === undefined) return undefined;
  return 'ratioAtLeast' in target ? r >= target.ratioAtLeast : r <= target.ratioAtMost;
}

function targetText(target: Target | undefined, unit: string): string {
  if (!target) return '';
  if ('atMost' in target) return `≤ ${target.atMost} ${unit}`;
  return 'ratioAtLeast' in target ? `≥ ${target.ratioAtLeast}x` : `≤ ${target.ratioAtMost}x`;
}

/**
 * The Markdown table of `results` over `metrics` (rows without samples are left out), then the ceilings row.
 * @param names the two columns' servers (default Wharf and Distribution)
 */
export function markdownTable(results: Results, metrics: readonly Metric[], names: [string, string] = ['Wharf', 'Distribution']): string {
  const lines = [
    `| metric | unit | ${names[0]} median (min..max) | ${names[1]} median (min..max) | ${names[0]}/${names[1]} | target | holds |`,
    '|---|---|---|---|---|---|---|',
  ];
  for (const metric of metrics) {
    const entry = results.samples.get(metric.key);
    if (!entry) continue;
    const w = summarize(entry.wharf);
    const d = summarize(entry.distribution);
    const r = ratio(w, d);
    const holds = metric.target ? targetHolds(metric.target, w?.median, r) : undefined;
    const mark = holds === undefined ? '' : holds ? 'yes' : '**no**';
    lines.push(
      `| ${metric.label} | ${metric.unit} | ${formatSummary(w)} | ${formatSummary(d)} | ${r === undefined ? 'n/a' : formatNumber(r) + 'x'} | ${targetText(metric.target, metric.unit)} | ${mark} |`,
    );
  }
  const ceilings = [...results.ceilings].map(([name, values]) => `${name} ${formatSummary(summarize(values))}`);
  if (ceilings.length > 0) lines.push(`| machine ceilings | MiB/s | ${ceilings.join('; ')} | | | | |`);
  return lines.join('\n');
}
