/**
 * `npm run bench -- --observability`: the cost of metrics and notifications. The second server is a
 * Wharf with `http.debug.prometheus` on and one signed notification endpoint, measured in the
 * Distribution column against a plain Wharf, the two taking turns at going first (A B, B A, ...).
 *
 * The receiver (observability-sink.ts) runs in a process of its own, so it never delays the load
 * generator's event loop, and does only what any receiver must (drain, count, answer 202); it still
 * shares the machine's cores, and the note gives the CPU it used. The cost of each figure is read per
 * round, from the two samples taken side by side (1 - observed/plain), and summarized as the median
 * and range of those: under a load that drifts, neighbours in time compare better than medians of
 * whole columns.
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
 * server's CPU for the same work (`cpu`: µs per request, or s per GiB pushed; less is better).
 */
const COSTED: ReadonlyArray<{ key: string; label: string; cpu: string; cpuUnit: string }> = [
  { key: 'get-tag', label: 'manifest GET by tag', cpu: 'cpu-get-tag', cpuUnit: 'µs/request' },
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

/** The extra CPU of each round, observed/plain - 1, paired as {@link pairedCosts}. */
export function pairedCpuCosts(plain: readonly number[], observed: readonly number[]): number[] | undefined {
  if (plain.length !== observed.length || plain.length === 0) return undefined;
  return plain.map((p, i) => observed[i]! / p - 1);
}

function percent(value: number): string {
  return `${formatNumber(value * 100)} %`;
}

function costCell(summary: Summary | undefined): string {
  if (!summary) return 'n/a';
  return `${percent(summary.median)} (${percent(summary.min)}..${percent(summary.max)})`;
}

/**
 * The cost table: per figure, the medians of both columns, the cost of their medians, the per-round
 * cost (median and range) and whether that median is under 5 %, then the server's CPU for the same
 * work (medians) and its extra per round; rows without samples are left out.
 */
export function observabilityTable(results: Results): string {
  const lines = [
    '| figure | Wharf median | with metrics and notifications median | cost of the medians | cost per round, median (min..max) | target | holds | server CPU, Wharf → with them (medians) | extra CPU per round, median (min..max) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { key, label, cpu, cpuUnit } of COSTED) {
    const entry = results.samples.get(key);
    if (!entry || (entry.wharf.length === 0 && entry.distribution.length === 0)) continue;
    const plain = summarize(entry.wharf);
    const observed = summarize(entry.distribution);
    const ofMedians = plain && observed ? percent(1 - observed.median / plain.median) : 'n/a';
    const paired = summarize(pairedCosts(entry.wharf, entry.distribution) ?? []);
    const holds = paired ? (paired.median < MAX_COST ? 'yes' : '**no**') : '';
    const cpuEntry = results.samples.get(cpu);
    const cpuPlain = summarize(cpuEntry?.wharf ?? []);
    const cpuObserved = summarize(cpuEntry?.distribution ?? []);
    const cpuCell = cpuPlain && cpuObserved ? `${formatNumber(cpuPlain.median)} → ${formatNumber(cpuObserved.median)} ${cpuUnit}` : 'n/a';
    const cpuExtra = summarize(pairedCpuCosts(cpuEntry?.wharf ?? [], cpuEntry?.distribution ?? []) ?? []);
    lines.push(
      `| ${label} | ${plain ? formatNumber(plain.median) : 'n/a'} | ${observed ? formatNumber(observed.median) : 'n/a'} | ${ofMedians} | ${costCell(paired)} | < 5 % | ${holds} | ${cpuCell} | ${costCell(cpuExtra)} |`,
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
