/**
 * One round of a workload group: the set-up each server under test needs first ({@link prepare}), the
 * run of a group on one server ({@link runGroup}), recording into the results, and the machine's
 * ceilings measured every round ({@link measureCeilings}).
 */
import { diskWriteMiBps, loopbackMiBps, sha256MiBps } from './ceilings.js';
import { blobDigest } from './data.js';
import { pushPull } from './docker.js';
import { headLoad } from './head-load.js';
import type { Group, Options } from './options.js';
import type { Results } from './report.js';
import { cpuSeconds, withPeakRss, type ServerUnderTest } from './servers.js';
import {
  addRepositories,
  addTags,
  listingSize,
  load,
  MANIFEST_ACCEPT,
  measuredLoad,
  OCI_MANIFEST,
  probe,
  pullBlob,
  pushBlob,
  pushSmallImage,
  settledCpu,
  type PushMode,
  type SmallImage,
} from './workloads.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Seconds of the manifest GET load at `--fixed-rate`: its figure is CPU per request (the rate is set), and
 * 12,500 requests at 2,500/s read it to about 1 µs.
 */
const FIXED_RATE_SECONDS = 5;

/** What each server holds for the workloads after set-up. */
export interface Prepared {
  server: ServerUnderTest;
  image?: SmallImage;
  tagged?: SmallImage;
  fanoutDigest?: string;
}

/** Sets up what the groups of `options.only` need on `server` (the fan-out blob, the small images, the tags and repositories listed). */
export async function prepare(server: ServerUnderTest, options: Options, fanoutDigest: string, fanoutSeed: string): Promise<Prepared> {
  const base = server.url;
  const prepared: Prepared = { server };
  if (options.only.includes('pull')) {
    await pushBlob(base, 'bench/fanout', 'monolithic', fanoutSeed, options.fanoutMib * MiB, fanoutDigest, options.chunkMib * MiB);
    prepared.fanoutDigest = fanoutDigest;
  }
  if (options.only.includes('manifests') || options.only.includes('listings')) {
    prepared.image = await pushSmallImage(base, 'bench/meta');
  }
  if (options.only.includes('listings')) {
    prepared.tagged = await pushSmallImage(base, 'bench/tags');
    await addTags(base, prepared.tagged, options.tags);
    await addRepositories(base, prepared.image!, 'bench/catalog', options.repositories);
    const tags = await listingSize(`${base}/v2/bench/tags/tags/list`);
    const repositories = await listingSize(`${base}/v2/_catalog?n=${options.repositories}`);
    if (tags !== options.tags + 1 || repositories !== options.repositories) {
      throw new Error(`${server.kind}: tags/list answered ${tags} tags (expected ${options.tags + 1}), _catalog ${repositories} repositories (expected ${options.repositories})`);
    }
  }
  return prepared;
}

const digests = new Map<string, string>();

/** {@link blobDigest}, computed once per seed (the pull of a round reuses its push's digest). */
export function digestOf(seed: string, size: number): string {
  const known = digests.get(seed);
  if (known) return known;
  const digest = blobDigest(seed, size);
  digests.set(seed, digest);
  return digest;
}

/** Runs one round of group `group` on one server, recording into `results`. */
export async function runGroup(group: Group, p: Prepared, round: number, options: Options, results: Results): Promise<void> {
  const { server } = p;
  const base = server.url;
  const size = options.blobMib * MiB;
  if (group === 'push' || group === 'pull') {
    if (group === 'push') {
      const modes: PushMode[] = ['monolithic', 'streamed', 'chunked'];
      const digests = modes.map((mode) => digestOf(`${server.kind[0]}${round}${mode}`, size));
      const { peakBytes } = await withPeakRss(server.pid, async () => {
        for (const [i, mode] of modes.entries()) {
          const cpuBefore = await settledCpu(() => cpuSeconds(server.pid));
          const pushed = await pushBlob(base, 'bench/push', mode, `${server.kind[0]}${round}${mode}`, size, digests[i]!, options.chunkMib * MiB);
          const cpuAfter = await settledCpu(() => cpuSeconds(server.pid));
          results.add(`push-${mode}`, server.kind, pushed.mibps);
          if (cpuBefore !== undefined && cpuAfter !== undefined) results.add(`cpu-push-${mode}`, server.kind, ((cpuAfter - cpuBefore) * GiB) / size);
          if (mode === 'chunked') results.add('commit-chunked', server.kind, pushed.commitS);
          if (i < modes.length - 1 || !options.only.includes('pull')) await server.removeBlob(digests[i]!);
        }
      });
      results.add('rss-push', server.kind, peakBytes / MiB);
      return;
    }
    const digest = digestOf(`${server.kind[0]}${round}chunked`, size);
    if (options.only.includes('push')) {
      const cpuBefore = await cpuSeconds(server.pid);
      results.add('pull', server.kind, await pullBlob(base, 'bench/push', digest, size));
      const cpuAfter = await cpuSeconds(server.pid);
      if (cpuBefore !== undefined && cpuAfter !== undefined) results.add('cpu-pull', server.kind, ((cpuAfter - cpuBefore) * GiB) / size);
      await server.removeBlob(digest);
    }
    results.add('fanout', server.kind, await pullBlob(base, 'bench/fanout', p.fanoutDigest!, options.fanoutMib * MiB, options.fanout));
    return;
  }
  if (group === 'manifests') {
    const image = p.image!;
    const accept = { Accept: MANIFEST_ACCEPT };
    const byTag = `${base}/v2/${image.repository}/manifests/latest`;
    const byDigest = `${base}/v2/${image.repository}/manifests/${image.digest}`;
    await probe(byTag, 'GET', accept);
    const { result, peakBytes } = await withPeakRss(server.pid, async () => {
      const cpu = (): Promise<number | undefined> => cpuSeconds(server.pid);
      const get = await measuredLoad((size) => load(byTag, { ...size, connections: options.connections, headers: accept }), options.connections, options.duration, cpu);
      const fixed = await measuredLoad((size) => load(byTag, { ...size, connections: options.connections, headers: accept, rate: options.fixedRate }), options.connections, FIXED_RATE_SECONDS, cpu);
      const head = await measuredLoad((size) => headLoad(byDigest, { ...size, connections: options.connections, headers: accept }), options.connections, options.duration, cpu);
      return { get, head, fixed };
    });
    results.add('rss-manifests', server.kind, peakBytes / MiB);
    results.add('get-tag', server.kind, result.get.rps);
    results.add('get-tag-p99', server.kind, result.get.p99);
    results.add('head-digest', server.kind, result.head.rps);
    results.add('head-digest-p99', server.kind, result.head.p99);
    if (result.get.cpuUsPerRequest !== undefined) results.add('cpu-get-tag', server.kind, result.get.cpuUsPerRequest);
    if (result.head.cpuUsPerRequest !== undefined) results.add('cpu-head-digest', server.kind, result.head.cpuUsPerRequest);
    if (result.fixed.cpuUsPerRequest !== undefined) results.add('cpu-get-tag-rate', server.kind, result.fixed.cpuUsPerRequest);
    const put = await measuredLoad(
      (size) =>
        load(`${base}/v2/${image.repository}/manifests/put`, {
          ...size,
          connections: options.putConnections,
          method: 'PUT',
          headers: { 'Content-Type': OCI_MANIFEST },
          body: image.manifest,
        }),
      options.putConnections,
      options.listDuration,
      () => cpuSeconds(server.pid),
    );
    results.add('put-tag', server.kind, put.rps);
    if (put.cpuUsPerRequest !== undefined) results.add('cpu-put-tag', server.kind, put.cpuUsPerRequest);
    return;
  }
  if (group === 'listings') {
    const tags = await measuredLoad(
      (size) => load(`${base}/v2/bench/tags/tags/list`, { ...size, connections: options.listConnections }),
      options.listConnections,
      options.listDuration,
      () => cpuSeconds(server.pid),
    );
    results.add('tags-list', server.kind, tags.rps);
    if (tags.cpuUsPerRequest !== undefined) results.add('cpu-tags-list', server.kind, tags.cpuUsPerRequest);
    results.add('tags-list-p99', server.kind, tags.p99);
    const catalog = await measuredLoad(
      (size) => load(`${base}/v2/_catalog?n=${options.repositories}`, { ...size, connections: options.listConnections }),
      options.listConnections,
      options.listDuration,
    );
    results.add('catalog', server.kind, catalog.rps);
    results.add('catalog-p99', server.kind, catalog.p99);
    return;
  }
  if (group === 'docker') {
    const times = await pushPull(server, round);
    results.add('docker-push', server.kind, times.push);
    results.add('docker-pull', server.kind, times.pull);
  }
}

/** The ceilings over half the blob size (at least 256 MiB): enough to pass the caches' warm-up, short enough to repeat every round. */
export async function measureCeilings(dir: string, options: Options, results: Results): Promise<void> {
  const bytes = Math.max(256, options.blobMib / 2) * MiB;
  results.addCeiling('sha256 (1 core)', sha256MiBps(bytes));
  results.addCeiling('disk write (new file, fsync)', await diskWriteMiBps(dir, bytes));
  results.addCeiling('loopback TCP', await loopbackMiBps(2 * bytes));
}
