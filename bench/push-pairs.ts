/**
 * The blob pushes of `npm run bench -- --observability`, interleaved push by push: each push mode is
 * pushed by both servers one right after the other, the order flipping with every pair (A B, B A,
 * ...), `repeats` times per round. A push's cost is a few per cent at most, while the same push on
 * the same server swings by ±20 % between rounds on a shared machine: only neighbours in time compare
 * (a server's whole turn of three 1 GiB pushes drifted as much as the cost it was to show).
 *
 * Each push records, for its server: `push-<mode>` (MiB/s), `cpu-push-<mode>` (the server's CPU,
 * user + system from /proc, read once it settled before and after the push, in s per GiB), and for
 * the chunked push `commit-chunked`; each round `rss-push` (the server's peak RSS over its pushes).
 */
import type { Results } from './report.js';
import { cpuSeconds, withPeakRss, type ServerUnderTest } from './servers.js';
import { pushBlob, settledCpu, type PushMode } from './workloads.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The push modes, in the order they are pushed. */
export const PUSH_MODES: readonly PushMode[] = ['monolithic', 'streamed', 'chunked'];

/** What {@link pushPairs} needs. */
export interface PushPairOptions {
  /** blob size, bytes */
  size: number;
  /** PATCH size of the chunked push, bytes */
  chunkBytes: number;
  /** pushes of each mode by each server in a round */
  repeats: number;
  /** keep each server's first chunked blob of the round (the pull group pulls it) */
  keepChunked: boolean;
  /** the digest of the blob generated from a seed (cached by the caller: hashing 1 GiB takes seconds) */
  digestOf(seed: string, size: number): string;
}

/**
 * The seed of a server's pushed blob: `<server initial><round><mode>`, `r<n>` added for the n-th
 * repeat; the first repeat's chunked blob is the one the pull group pulls.
 */
export function pushSeed(server: ServerUnderTest, round: number, mode: PushMode, repeat: number): string {
  return `${server.kind[0]}${round}${mode}${repeat > 0 ? `r${repeat}` : ''}`;
}

/**
 * The order of the servers for the `pair`-th pair of pushes of round `round` (both counted from 0
 * and 1): A B, B A, ... and every round starting the other way from the one before.
 */
export function pairOrder<T>(servers: readonly T[], round: number, pair: number): T[] {
  return (round + pair) % 2 === 1 ? [...servers] : [...servers].reverse();
}

/** One round of interleaved pushes on `servers` (see the module), recorded into `results`. */
export async function pushPairs(servers: readonly ServerUnderTest[], round: number, options: PushPairOptions, results: Results): Promise<void> {
  const peaks = new Map<ServerUnderTest, number>();
  let pair = 0;
  for (const mode of PUSH_MODES) {
    for (let repeat = 0; repeat < options.repeats; repeat++, pair++) {
      for (const server of pairOrder(servers, round, pair)) {
        const seed = pushSeed(server, round, mode, repeat);
        const digest = options.digestOf(seed, options.size);
        const { peakBytes } = await withPeakRss(server.pid, async () => {
          const cpuBefore = await settledCpu(() => cpuSeconds(server.pid));
          const pushed = await pushBlob(server.url, 'bench/push', mode, seed, options.size, digest, options.chunkBytes);
          const cpuAfter = await settledCpu(() => cpuSeconds(server.pid));
          results.add(`push-${mode}`, server.kind, pushed.mibps);
          if (cpuBefore !== undefined && cpuAfter !== undefined) results.add(`cpu-push-${mode}`, server.kind, ((cpuAfter - cpuBefore) * GiB) / options.size);
          if (mode === 'chunked') results.add('commit-chunked', server.kind, pushed.commitS);
        });
        peaks.set(server, Math.max(peaks.get(server) ?? 0, peakBytes));
        if (!(options.keepChunked && mode === 'chunked' && repeat === 0)) await server.removeBlob(digest);
      }
    }
  }
  for (const [server, peak] of peaks) results.add('rss-push', server.kind, peak / MiB);
}
