/**
 * `npm run bench -- --observability`: the cost of metrics and notifications. The second server is a
 * Wharf with `http.debug.prometheus` on and one signed notification endpoint, measured in the
 * Distribution column against a plain Wharf, the two taking turns at going first (A B, B A, ...).
 *
 * The receiver (observability-sink.ts) runs in a process of its own, so it never delays the load
 * generator's event loop, and does only what any receiver must (drain, count, answer 202); it still
 * shares the machine's cores, and the note gives the CPU it used. The cost of each figure is read per
 * pair of samples taken side by side (1 - observed/plain: a round's, or for blob pushes a pair of
 * pushes, see push-pairs.ts), summarized as the median and range of those (under a load that drifts,
 * neighbours in time compare better than medians of whole columns), and from the totals of each
 * column; beside it the server's CPU (from /proc) for the same work, in totals and per pair.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatNumber, summarize, type Summary } from './stats.js';
import { freePort } from './servers.js';
import type { Results } from './report.js';

/** What the receiver counted, and the CPU it used (seconds of user + system time). */
export interface SinkStats {
  events: number;
  deliveries: number;
  cpuSeconds: number;
}

/** The webhook receiver's process. */
export interface Sink {
  url: string;
  stats(): Promise<SinkStats>;
  stop(): Promise<void>;
}

/** Starts the receiver (dist/bench/observability-sink.js) on a loopback port. @throws Error when it does not print its URL */
export async function startSink(): Promise<Sink> {
  const child: ChildProcess = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'observability-sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await Promise.race([once(createInterface({ input: child.stdout! }), 'line'), once(child, 'exit').then(() => [undefined])])) as [string | undefined];
  if (line === undefined) throw new Error('the notification receiver (observability-sink.js) exited before listening');
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    url,
    stats: async () => (await (await fetch(new URL('/count', url))).json()) as SinkStats,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * What turns metrics and notifications on: `notifications` (one signed endpoint, the sink) as YAML
 * lines, and `http.debug` (Prometheus on a free port) as environment overrides, since the shared
 * configuration file already has its `http` block.
 */
export async function observabilityConfig(sinkUrl: string): Promise<{ yaml: string; env: Record<string, string> }> {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  return {
    yaml: `notifications:\n  endpoints: [{name: bench, url: "${sinkUrl}", secret: "${secret}"}]\n`,
    env: { WHARF_HTTP_DEBUG_ADDR: `127.0.0.1:${await freePort()}`, WHARF_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true' },
  };
}

/**
 * The figures whose cost the issue bounds (throughputs: more is better), with their labels, and the
 * server's CPU for the same work (`cpu`: µs per request, or s per GiB pushed; less is better). The
 * manifest GETs twice: as fast as the server answers (its throughput is the figure, but a
 * slower server lets the load generator on the same cores sleep, and waking it again is charged to
 * the server's socket writes: docs/performance.md), and at a fixed rate for both servers (no
 * throughput: `key` undefined), whose CPU per request is the server's own cost.
 */
const COSTED: ReadonlyArray<{ key: string | undefined; label: string; cpu: string; cpuUnit: string }> = [
  { key: 'get-tag', label: 'manifest GET by tag, as fast as possible', cpu: 'cpu-get-tag', cpuUnit: 'µs/request' },
  { key: undefined, label: 'manifest GET by tag at a fixed rate (--fixed-rate, both servers alike): CPU only', cpu: 'cpu-get-tag-rate', cpuUnit: 'µs/request' },
  { key: 'head-digest', label: 'manifest HEAD by digest', cpu: 'cpu-head-digest', cpuUnit: 'µs/request' },
  { key: 'push-monolithic', label: 'blob push, monolithic', cpu: 'cpu-push-monolithic', cpuUnit: 's/GiB' },
  { key: 'push-streamed', label: 'blob push, streamed', cpu: 'cpu-push-streamed', cpuUnit: 's/GiB' },
  { key: 'push-chunked', label: 'blob push, chunked', cpu: 'cpu-push-chunked', cpuUnit: 's/GiB' },
];
/** The most a figure may lose to metrics and notifications (issue 16): 5 %. */
const MAX_COST = 0.05;

/**
 * The cost of each round, 1 - observed/plain, from the samples of the same round (the i-th of each
 * column); undefined when the columns differ in length (a round failed on one server only).
 */
export function pairedCosts(plain: readonly number[], observed: readonly number[]): number[] | undefined {
  if (plain.length !== observed.length || plain.length === 0) return undefined;
  return plain.map((p, i) => 1 - observed[i]! / p);
}

/** The extra CPU of each round (or pair of pushes), observed/plain - 1, paired as {@link pairedCosts}. */
export function pairedCpuCosts(plain: readonly number[], observed: readonly number[]): number[] | undefined {
  if (plain.length !== observed.length || plain.length === 0) return undefined;
  return plain.map((p, i) => observed[i]! / p - 1);
}

/** The harmonic mean: the rate of all samples together when each measured the same work (a throughput's total). */
function harmonicMean(samples: readonly number[]): number | undefined {
  return samples.length === 0 ? undefined : samples.length / samples.reduce((sum, x) => sum + 1 / x, 0);
}

/** The arithmetic mean: the total over all samples per unit of work when each measured the same work (CPU per request or per GiB). */
function mean(samples: readonly number[]): number | undefined {
  return samples.length === 0 ? undefined : samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/**
 * The cost of the totals of a throughput: 1 - (all observed work / its time) / (all plain work / its
 * time), every sample having measured the same work; undefined without samples on either side.
 */
export function totalCost(plain: readonly number[], observed: readonly number[]): number | undefined {
  const p = harmonicMean(plain);
  const o = harmonicMean(observed);
  return p === undefined || o === undefined ? undefined : 1 - o / p;
}

/** The extra CPU of the totals: all observed CPU / all plain CPU - 1 (the same work per sample); undefined without samples. */
export function totalCpuCost(plain: readonly number[], observed: readonly number[]): number | undefined {
  const p = mean(plain);
  const o = mean(observed);
  return p === undefined || o === undefined ? undefined : o / p - 1;
}

function percent(value: number): string {
  return `${formatNumber(value * 100)} %`;
}

function costCell(summary: Summary | undefined): string {
  if (!summary) return 'n/a';
  return `${percent(summary.median)} (${percent(summary.min)}..${percent(summary.max)})`;
}

function holdsCell(cost: number | undefined): string {
  return cost === undefined ? 'n/a' : cost < MAX_COST ? 'yes' : '**no**';
}

/**
 * The cost table, one row per figure: the medians of both columns; the time cost per pair of
 * samples taken side by side (median and range: the spread) and of the totals (all samples of each
 * column together); the server's CPU for the same work, its totals per unit and their extra, and the
 * extra per pair (median and range); whether the time cost per pair (median) and the extra CPU of
 * the totals are under 5 %. Under a drifting load the CPU totals read a cost of a few per cent best
 * (a push's time swung ±20 % between rounds of the same code, its CPU total over all of them did not).
 * Rows without samples are left out.
 */
export function observabilityTable(results: Results): string {
  const lines = [
    '| figure | Wharf median | with metrics and notifications median | time cost per pair, median (min..max) | time cost of the totals | server CPU totals, Wharf → with them | extra CPU of the totals | extra CPU per pair, median (min..max) | < 5 %: time per pair / CPU totals |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { key, label, cpu, cpuUnit } of COSTED) {
    const none = { wharf: [], distribution: [] };
    const entry = (key === undefined ? undefined : results.samples.get(key)) ?? none;
    const cpuEntry = results.samples.get(cpu) ?? none;
    if ([entry.wharf, entry.distribution, cpuEntry.wharf, cpuEntry.distribution].every((s) => s.length === 0)) continue;
    const plain = summarize(entry.wharf);
    const observed = summarize(entry.distribution);
    const paired = summarize(pairedCosts(entry.wharf, entry.distribution) ?? []);
    const total = totalCost(entry.wharf, entry.distribution);
    const cpuPlain = mean(cpuEntry.wharf);
    const cpuObserved = mean(cpuEntry.distribution);
    const cpuCell = cpuPlain !== undefined && cpuObserved !== undefined ? `${formatNumber(cpuPlain)} → ${formatNumber(cpuObserved)} ${cpuUnit}` : 'n/a';
    const cpuTotal = totalCpuCost(cpuEntry.wharf, cpuEntry.distribution);
    const cpuExtra = summarize(pairedCpuCosts(cpuEntry.wharf, cpuEntry.distribution) ?? []);
    lines.push(
      `| ${label} | ${plain ? formatNumber(plain.median) : 'n/a'} | ${observed ? formatNumber(observed.median) : 'n/a'} | ${costCell(paired)} | ${total === undefined ? 'n/a' : percent(total)} | ` +
        `${cpuCell} | ${cpuTotal === undefined ? 'n/a' : percent(cpuTotal)} | ${costCell(cpuExtra)} | ${holdsCell(paired?.median)} / ${holdsCell(cpuTotal)} |`,
    );
  }
  return lines.join('\n');
}

/** The note on the receiver: events and deliveries it received and the CPU it used. */
export function sinkNote(stats: SinkStats | undefined): string {
  if (!stats) return 'the notification receiver did not answer: events delivered unknown';
  return (
    `notifications: ${stats.events} events delivered to the receiver in ${stats.deliveries} deliveries; the receiver ` +
    `(a process of its own on the same cores: drains, counts, answers 202) used ${formatNumber(stats.cpuSeconds)} s of CPU in the whole run`
  );
}

/**
 * The note on the machine's load: the 1-minute load average when the servers started and when the
 * run ended, against the number of cores. Wall-clock figures bend under it, and so does CPU time per
 * unit of work (contended caches and cores: at a load of 8 to 18 on 2 cores one server's CPU per GiB
 * pushed swung from 2.8 to 5.3 s between rounds of the same code); above the core count the note says
 * a cost of a few per cent cannot be read from the run.
 */
export function loadNote(atStart: number | undefined, atEnd: number, cores: number): string {
  const start = atStart === undefined ? 'unknown' : formatNumber(atStart);
  const busy = Math.max(atStart ?? 0, atEnd) > cores;
  return (
    `load average (1 min) ${start} at the start, ${formatNumber(atEnd)} at the end, on ${cores} cores` +
    (busy
      ? ': other processes shared the cores, which bends the throughputs and, less, the server CPU figures: a cost of a few per cent cannot be read from this run (run it on a quiet machine)'
      : ': the machine was quiet')
  );
}
