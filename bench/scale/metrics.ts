/**
 * The rows of the scale bench's tables, with issue 19's targets: garbage collection against
 * Distribution's, the admin API's pages, the catalog, tag listing and the server's memory; and the
 * table of how Wharf's figures grow from 10,000 to 100,000 repositories.
 */
import { formatNumber, summarize } from '../stats.js';
import type { Metric, Results } from '../report.js';

/** The rows of a wide registry (many repositories of ten tags). */
export const WIDE_METRICS: Metric[] = [
  { key: 'gc-dry', label: 'GC dry run (`wharf gc --dry-run` / `garbage-collect --dry-run`)', unit: 's', target: { ratioAtMost: 0.666 } },
  { key: 'gc-dry-cpu', label: 'GC dry run, CPU time (user + system)', unit: 's', target: { ratioAtMost: 0.666 } },
  { key: 'gc-dry-rss', label: 'GC dry run, peak RSS', unit: 'MiB', target: { atMost: 200 } },
  { key: 'gc-real', label: 'GC deleting untagged (`--delete-untagged`)', unit: 's', target: { ratioAtMost: 0.666 } },
  { key: 'gc-real-cpu', label: 'GC deleting untagged, CPU time (user + system)', unit: 's', target: { ratioAtMost: 0.666 } },
  { key: 'gc-real-rss', label: 'GC deleting untagged, peak RSS', unit: 'MiB', target: { atMost: 200 } },
  { key: 'index-build', label: 'admin index built at start (no snapshot in storage)', unit: 's' },
  { key: 'admin-first', label: 'first admin page (`/admin/v1/repositories?n=100`)', unit: 'ms', target: { atMost: 200 } },
  { key: 'admin-restart', label: 'first admin page after a restart (snapshot in storage)', unit: 'ms', target: { atMost: 200 } },
  { key: 'admin-steady', label: 'admin page, steady', unit: 'ms', target: { atMost: 200 } },
  { key: 'admin-sorted', label: 'admin page sorted by total bytes, descending', unit: 'ms', target: { atMost: 200 } },
  { key: 'admin-filtered', label: 'admin page filtered by name (`q=app1`)', unit: 'ms', target: { atMost: 200 } },
  { key: 'admin-deep', label: 'admin page 20, following cursors', unit: 'ms', target: { atMost: 200 } },
  { key: 'storage', label: 'storage totals (`/admin/v1/storage`)', unit: 'ms' },
  { key: 'catalog-first', label: '`_catalog?n=1000`, first', unit: 'ms' },
  { key: 'catalog-steady', label: '`_catalog?n=1000`, steady', unit: 'ms' },
  { key: 'gc-api', label: 'GC dry run through `POST /admin/v1/gc` (in the server)', unit: 's' },
  { key: 'gc-api-cpu', label: 'GC dry run through `POST /admin/v1/gc`, server CPU time (user + system)', unit: 's' },
  { key: 'rss-idle', label: 'server RSS at idle after start', unit: 'MiB' },
  { key: 'rss-after', label: 'server RSS at idle after the admin calls and a GC', unit: 'MiB' },
  { key: 'rss-growth', label: 'server RSS growth (after minus idle)', unit: 'MiB', target: { atMost: 30 } },
  { key: 'soak-first', label: 'soak: server RSS after its first cycle of mixed traffic', unit: 'MiB' },
  { key: 'soak-last', label: 'soak: server RSS after its last cycle', unit: 'MiB' },
  { key: 'soak-growth', label: 'soak: growth from the first cycle to the last', unit: 'MiB', target: { atMost: 30 } },
];

/** The rows of the tall registry (one repository of many tags). */
export function tallMetrics(tags: number): Metric[] {
  const count = tags.toLocaleString('en-US');
  return [
    { key: 'tags-first', label: `\`tags/list\` of ${count} tags, first`, unit: 'ms' },
    { key: 'tags-steady', label: `\`tags/list\` of ${count} tags, steady`, unit: 'ms' },
    { key: 'admin-tags-first', label: 'admin tag page (`/admin/v1/repositories/big/app/tags?n=100`), first', unit: 'ms' },
    { key: 'admin-tags-steady', label: 'admin tag page, steady', unit: 'ms' },
    { key: 'admin-tags-sorted', label: 'admin tag page sorted by size, descending', unit: 'ms' },
    { key: 'admin-first', label: 'first admin page (`/admin/v1/repositories?n=100`)', unit: 'ms', target: { atMost: 200 } },
    { key: 'gc-dry', label: 'GC dry run', unit: 's' },
    { key: 'gc-dry-rss', label: 'GC dry run, peak RSS', unit: 'MiB' },
    { key: 'gc-real', label: 'GC deleting untagged', unit: 's' },
    { key: 'gc-real-rss', label: 'GC deleting untagged, peak RSS', unit: 'MiB' },
    { key: 'rss-idle', label: 'server RSS at idle after start', unit: 'MiB' },
    { key: 'rss-after', label: 'server RSS at idle after the listings and a GC', unit: 'MiB' },
    { key: 'rss-growth', label: 'server RSS growth (after minus idle)', unit: 'MiB', target: { atMost: 30 } },
  ];
}

/**
 * The growth of Wharf's medians from the registry of `small` repositories to the one of `large`
 * (issue 19: every row within 12x at 10x the repositories).
 */
export function growthTable(small: Results, large: Results, smallLabel: string, largeLabel: string): string {
  const lines = [`| metric | unit | Wharf at ${smallLabel} | Wharf at ${largeLabel} | growth | target | holds |`, '|---|---|---|---|---|---|---|'];
  for (const metric of WIDE_METRICS) {
    const a = summarize(small.samples.get(metric.key)?.wharf ?? []);
    const b = summarize(large.samples.get(metric.key)?.wharf ?? []);
    if (!a || !b) continue;
    const growth = a.median === 0 ? undefined : b.median / a.median;
    const holds = growth === undefined ? '' : growth <= 12 ? 'yes' : '**no**';
    lines.push(`| ${metric.label} | ${metric.unit} | ${formatNumber(a.median)} | ${formatNumber(b.median)} | ${growth === undefined ? 'n/a' : `${formatNumber(growth)}x`} | ≤ 12x | ${holds} |`);
  }
  return lines.join('\n');
}
