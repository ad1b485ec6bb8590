/**
 * `npm run bench -- --only proxy`: Wharf as a pull-through cache of CNCF Distribution, side by side
 * with a pull straight from that Distribution, in the same run. The upstream holds a 200 MiB
 * single-layer image and a 5 x 50 MiB image; each round pulls each image (manifest, config, layers
 * three at a time as docker does, bytes counted and dropped) directly from the upstream, cold
 * through Wharf (its cache emptied behind its back), and warm through Wharf; and counts the requests
 * that reached the upstream during the warm pull (within `tagttl` there should be none).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { blobDigest } from './data.js';
import { expect, send } from './http.js';
import type { Metric, Results } from './report.js';
import { startDistribution, startWharf, type ServerUnderTest } from './servers.js';
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

/** The upstream, the caching Wharf and what they hold. */
export interface ProxyBench {
  upstream: ServerUnderTest;
  cache: ServerUnderTest;
  images: BenchImage[];
  /** the upstream's access log */
  upstreamLog: string;
}

/**
 * Starts an upstream Distribution, pushes the images into it, and starts a Wharf caching it
 * (prefix `up`, `tagttl: 1h`), both on `storage`, their files under `work`.
 */
export async function startProxyBench(repoRoot: string, work: string, storage: StorageUnderTest, nodeArgs: string[]): Promise<ProxyBench> {
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
  const cache = await startWharf(repoRoot, join(work, 'proxy-wharf'), storage, nodeArgs, extra);
  return { upstream, cache, images, upstreamLog: join(work, 'proxy-upstream', 'server.log') };
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

/** The report's heading of a run of the proxy workload alone. */
export function proxyHeader(rounds: number, cores: number, storage: string): string[] {
  return [
    `# Wharf's pull-through cache vs a direct pull from its upstream (CNCF Distribution), ${new Date().toISOString()}`,
    '',
    `${cores} cores, Node ${process.version}; ${rounds} rounds, the direct pull first in odd rounds and last in even ones; ` +
      `images: ${IMAGES.map((i) => i.label).join(', ')}, pulled as docker does (manifest, then config and layers three at a time). ` +
      `${storage}; the "Distribution" column is the direct pull from the upstream.`,
    '',
  ];
}

/** Requests the upstream has logged so far (its access log lines). */
async function upstreamRequests(bench: ProxyBench): Promise<number> {
  return (await readFile(bench.upstreamLog, 'utf8')).split('\n').filter((l) => / HTTP\/1\.1" \d{3} /.test(l)).length;
}

/**
 * One round of the proxy workload: per image, the direct pull, then cold and warm through Wharf, in
 * odd rounds; cold and warm first, then the direct pull, in even rounds (A B, B A: neither side always
 * runs first on a machine whose load changes).
 */
export async function proxyRound(bench: ProxyBench, results: Results, round: number): Promise<void> {
  for (const image of bench.images) {
    const directFirst = round % 2 === 1;
    let direct = directFirst ? await pullImage(bench.upstream.url, image.repository, image) : 0;
    await bench.cache.removeRepository(`up/${image.repository}`);
    for (const d of [image.manifestDigest, ...image.blobs.map((b) => b.digest)]) await bench.cache.removeBlob(d);
    const cold = await pullImage(bench.cache.url, `up/${image.repository}`, image);
    const before = await upstreamRequests(bench);
    const warm = await pullImage(bench.cache.url, `up/${image.repository}`, image);
    const reached = (await upstreamRequests(bench)) - before;
    if (!directFirst) direct = await pullImage(bench.upstream.url, image.repository, image);
    results.add(`proxy-cold-${image.key}`, 'wharf', cold);
    results.add(`proxy-cold-${image.key}`, 'distribution', direct);
    results.add(`proxy-warm-${image.key}`, 'wharf', warm);
    results.add(`proxy-warm-${image.key}`, 'distribution', direct);
    results.add('proxy-upstream-requests', 'wharf', reached);
  }
}
