/**
 * `npm run bench -- --only proxy`: Wharf as a pull-through cache of CNCF Distribution, side by side
 * with a pull straight from that Distribution, in the same run. The upstream holds a 200 MiB
 * single-layer image and a 5 x 50 MiB image; each round pulls each image (manifest, config, layers
 * three at a time as docker does, bytes counted and dropped) in brackets: directly from the
 * upstream, cold through Wharf (its cache emptied behind its back), warm through Wharf, directly
 * again; and counts the requests that reached the upstream during the warm pull (within `tagttl`
 * there should be none). Each bracket gives a ratio of its own (load moves between brackets, less
 * within one), and the CPU seconds each server used for its pull (a figure load does not bend).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { blobDigest } from './data.js';
import { expect, send } from './http.js';
import type { Metric, Results } from './report.js';
import { cpuSeconds, startDistribution, startWharf, type ServerUnderTest } from './servers.js';
import { formatNumber, formatSummary, summarize, type Summary } from './stats.js';
import type { StorageUnderTest } from './storage.js';
import { inPool, MANIFEST_ACCEPT, OCI_MANIFEST, pushBlob, pushSmallBlob, putManifest } from './workloads.js';

const MiB = 1024 * 1024;

/** One image of the upstream: its repository, tag and blobs (config first). */
interface BenchImage {
  key: string;
  repository: string;
  blobs: { digest: string; size: number }[];
  manifestDigest: string;
}

/** The images the proxy workload pulls: `key`, label, layer sizes in MiB. */
const IMAGES = [
  { key: '200', label: '200 MiB image (1 layer)', layers: [200] },
  { key: '5x50', label: '5 x 50 MiB image', layers: [50, 50, 50, 50, 50] },
] as const;

/** The table rows of the proxy workload (the Distribution column is the direct pull from the upstream). */
export function proxyMetrics(): (Metric & { group: 'proxy' })[] {
  return [
    ...IMAGES.flatMap((i) => [
      { key: `proxy-cold-${i.key}`, group: 'proxy' as const, label: `${i.label}: cold pull through Wharf vs direct from the upstream`, unit: 's', target: { ratioAtMost: 1.15 } },
      { key: `proxy-warm-${i.key}`, group: 'proxy' as const, label: `${i.label}: warm pull through Wharf vs direct from the upstream`, unit: 's', target: { ratioAtMost: 1.0 } },
    ]),
    { key: 'proxy-upstream-requests', group: 'proxy', label: 'upstream requests per warm tag pull within tagttl', unit: 'requests', target: { atMost: 0 } },
  ];
}

/** A caching Wharf under test: the build measured, or a baseline build beside it (`--proxy-baseline`). */
export interface ProxyCache {
  server: ServerUnderTest;
  /**
   * '' for the build measured, `baseline` for another Wharf build, `distribution` for Distribution's own
   * pull-through cache: the suffix of its sample keys (`proxy-pair-cold-200@baseline`)
   */
  tag: '' | 'baseline' | 'distribution';
  /** the repository prefix its upstream is reached under (`up/` for Wharf, none for Distribution) */
  prefix: string;
}

/** The upstream, the caching Wharfs and what they hold. */
export interface ProxyBench {
  upstream: ServerUnderTest;
  /** the Wharf measured first, then the baseline Wharf if any, then Distribution's pull-through cache */
  caches: ProxyCache[];
  images: BenchImage[];
  /** the upstream's access log */
  upstreamLog: string;
}

/**
 * Starts an upstream Distribution, pushes the images into it, and starts a Wharf caching it
 * (prefix `up`, `tagttl: 1h`), all on `storage`, their files under `work`; a second caching
 * Wharf from the build in `baselineRoot` (its `dist/`) when given; and a Distribution in proxy mode
 * (`proxy.remoteurl`, the anchor's own pull-through cache), all measured in the same brackets.
 */
export async function startProxyBench(repoRoot: string, work: string, storage: StorageUnderTest, nodeArgs: string[], baselineRoot?: string): Promise<ProxyBench> {
  const upstream = await startDistribution(join(work, 'proxy-upstream'), storage);
  const images: BenchImage[] = [];
  for (const spec of IMAGES) {
    const repository = `bench/proxy-${spec.key}`;
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: {} }));
    const configDigest = await pushSmallBlob(upstream.url, repository, config);
    const layers = [];
    for (const [i, mib] of spec.layers.entries()) {
      const seed = `proxy${spec.key}-${i}`;
      const size = mib * MiB;
      const digest = blobDigest(seed, size);
      await pushBlob(upstream.url, repository, 'monolithic', seed, size, digest, 8 * MiB);
      layers.push({ digest, size });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
      }),
    );
    await putManifest(upstream.url, repository, 'latest', manifest);
    images.push({ key: spec.key, repository, blobs: [{ digest: configDigest, size: config.length }, ...layers], manifestDigest: sha256(manifest) });
  }
  const extra = `proxy:\n  upstreams:\n    - {name: up, url: "${upstream.url}", prefix: up, default: true, tagttl: 1h}\n`;
  const caches: ProxyCache[] = [{ server: await startWharf(repoRoot, join(work, 'proxy-wharf'), storage, nodeArgs, extra), tag: '', prefix: 'up/' }];
  if (baselineRoot) caches.push({ server: await startWharf(baselineRoot, join(work, 'proxy-wharf-baseline'), storage, nodeArgs, extra), tag: 'baseline', prefix: 'up/' });
  const distributionProxy = await startDistribution(join(work, 'proxy-distribution'), storage, `proxy:\n  remoteurl: ${upstream.url}\n`);
  caches.push({ server: distributionProxy, tag: 'distribution', prefix: '' });
  return { upstream, caches, images, upstreamLog: join(work, 'proxy-upstream', 'server.log') };
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Pulls `repository:latest` from `base` as docker does: the manifest, then the config and layers
 * three at a time, every byte received and counted.
 * @returns seconds
 * @throws Error on any status but 200 or a short body
 */
export async function pullImage(base: string, repository: string, image: BenchImage): Promise<number> {
  const start = process.hrtime.bigint();
  const manifest = await expect(200, `${base}/v2/${repository}/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (manifest.headers['docker-content-digest'] !== image.manifestDigest) throw new Error(`${base}: ${repository}:latest is ${String(manifest.headers['docker-content-digest'])}, not ${image.manifestDigest}`);
  await inPool(image.blobs, 3, async (blob) => {
    const answer = await send(`${base}/v2/${repository}/blobs/${blob.digest}`, { discard: true });
    if (answer.status !== 200 || answer.bytes !== blob.size) throw new Error(`${base}: blob ${blob.digest}: status ${answer.status}, ${answer.bytes} of ${blob.size} bytes`);
  });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Pulls per image and round: each a bracket direct, cold, warm, direct (more pairs, steadier ratios). */
export const PROXY_REPEATS = 3;

/** The report's heading of a run of the proxy workload alone. */
export function proxyHeader(rounds: number, cores: number, storage: string): string[] {
  return [
    `# Wharf's pull-through cache vs a direct pull from its upstream (CNCF Distribution), ${new Date().toISOString()}`,
    '',
    `${cores} cores, Node ${process.version}; ${rounds} rounds x ${PROXY_REPEATS} brackets per image, each bracket direct, cold, warm, direct ` +
      `(the direct sample is the mean of the two pulls around the Wharf pulls: a load change in between weighs on both sides); ` +
      `images: ${IMAGES.map((i) => i.label).join(', ')}, pulled as docker does (manifest, then config and layers three at a time). ` +
      `${storage}; the "Distribution" column is the direct pull from the upstream. ` +
      `The per-bracket table has a row for Distribution in proxy mode (\`proxy.remoteurl\`) too: the field's own pull-through cache, pulled in the same brackets.`,
    '',
  ];
}

/** Requests the upstream has logged so far (its access log lines). */
async function upstreamRequests(bench: ProxyBench): Promise<number> {
  return (await readFile(bench.upstreamLog, 'utf8')).split('\n').filter((l) => / HTTP\/1\.1" \d{3} /.test(l)).length;
}

/** CPU seconds `pid` uses while `work` runs, and what `work` returns. */
async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const before = (await cpuSeconds(pid)) ?? 0;
  const result = await work();
  return { result, cpu: ((await cpuSeconds(pid)) ?? 0) - before };
}

/**
 * One round of the proxy workload: per image, {@link PROXY_REPEATS} brackets of a direct pull, a cold
 * and a warm pull through each caching Wharf (its cache emptied behind its back; the baseline's
 * first in odd brackets), and a direct pull again. Records the times, the per-bracket ratios
 * (`proxy-pair-*`), each server's CPU seconds for its pull, the upstream requests of the warm pull
 * and the load average.
 */
export async function proxyRound(bench: ProxyBench, results: Results): Promise<void> {
  for (const image of bench.images) {
    for (let i = 0; i < PROXY_REPEATS; i++) {
      results.add('proxy-load', 'wharf', loadavg()[0]!);
      const first = await withCpu(bench.upstream.pid, () => pullImage(bench.upstream.url, image.repository, image));
      const pulls = [];
      for (const cache of i % 2 === 0 ? bench.caches : [...bench.caches].reverse()) pulls.push({ cache, ...(await coldAndWarm(bench, cache, image)) });
      const last = await withCpu(bench.upstream.pid, () => pullImage(bench.upstream.url, image.repository, image));
      const direct = (first.result + last.result) / 2;
      for (const { cache, cold, warm, reached } of pulls) {
        const at = cache.tag ? `@${cache.tag}` : '';
        if (!cache.tag) {
          results.add(`proxy-cold-${image.key}`, 'wharf', cold.result);
          results.add(`proxy-cold-${image.key}`, 'distribution', direct);
          results.add(`proxy-warm-${image.key}`, 'wharf', warm.result);
          results.add(`proxy-warm-${image.key}`, 'distribution', direct);
          results.add('proxy-upstream-requests', 'wharf', reached);
        }
        results.add(`proxy-pair-cold-${image.key}${at}`, 'wharf', cold.result / direct);
        results.add(`proxy-pair-warm-${image.key}${at}`, 'wharf', warm.result / direct);
        results.add(`proxy-cpu-cold-${image.key}${at}`, 'wharf', cold.cpu);
        results.add(`proxy-cpu-cold-${image.key}${at}`, 'distribution', (first.cpu + last.cpu) / 2);
        results.add(`proxy-cpu-warm-${image.key}${at}`, 'wharf', warm.cpu);
      }
    }
  }
}

/** A cold pull of `image` through `cache` (emptied first), then a warm one, timed, with `cache`'s CPU, and the upstream requests of the warm one. */
async function coldAndWarm(bench: ProxyBench, { server, prefix }: ProxyCache, image: BenchImage) {
  const repository = `${prefix}${image.repository}`;
  await server.removeRepository(repository);
  for (const d of [image.manifestDigest, ...image.blobs.map((b) => b.digest)]) await server.removeBlob(d);
  const cold = await withCpu(server.pid, () => pullImage(server.url, repository, image));
  const before = await upstreamRequests(bench);
  const warm = await withCpu(server.pid, () => pullImage(server.url, repository, image));
  return { cold, warm, reached: (await upstreamRequests(bench)) - before };
}

/**
 * The proxy's paired table: per image, the ratio of each bracket (the Wharf pull over the mean of
 * the two direct pulls around it), median (min..max) over the brackets, against the target; the
 * servers' CPU seconds per pull; and the load average the brackets started at.
 */
export function proxyPairsTable(results: Results): string {
  const lines = ['| image, cache | cold/direct per bracket | target | holds | warm/direct per bracket | target | holds | CPU s per pull: cache cold, cache warm, upstream direct |', '|---|---|---|---|---|---|---|---|'];
  for (const image of IMAGES) {
    for (const at of ['', '@baseline', '@distribution']) {
      const cold = summarize(results.samples.get(`proxy-pair-cold-${image.key}${at}`)?.wharf ?? []);
      const warm = summarize(results.samples.get(`proxy-pair-warm-${image.key}${at}`)?.wharf ?? []);
      if (!cold || !warm) continue;
      const cpu = results.samples.get(`proxy-cpu-cold-${image.key}${at}`);
      const cpuWarm = summarize(results.samples.get(`proxy-cpu-warm-${image.key}${at}`)?.wharf ?? []);
      const holds = (s: Summary, most: number) => (s.median <= most ? 'yes' : '**no**');
      lines.push(
        `| ${image.label}, ${CACHE_LABELS[at]} | ${ratioCell(cold)} | ≤ 1.15x | ${holds(cold, 1.15)} | ${ratioCell(warm)} | ≤ 1.0x | ${holds(warm, 1.0)} | ` +
          `${formatSummary(summarize(cpu?.wharf ?? []))}, ${formatSummary(cpuWarm)}, ${formatSummary(summarize(cpu?.distribution ?? []))} |`,
      );
    }
  }
  const load = summarize(results.samples.get('proxy-load')?.wharf ?? []);
  if (load) lines.push('', `1-minute load average at the brackets' start: ${formatSummary(load)} (${cpus().length} cores).`);
  return lines.join('\n');
}

const CACHE_LABELS: Record<string, string> = { '': 'this build', '@baseline': 'baseline', '@distribution': "Distribution's proxy (the anchor, for comparison)" };

function ratioCell(s: Summary): string {
  return `${formatNumber(s.median)}x (${formatNumber(s.min)}..${formatNumber(s.max)}, n=${s.count})`;
}
