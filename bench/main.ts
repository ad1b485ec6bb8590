/**
 * `npm run bench`: Wharf against CNCF Distribution on this machine, the same workloads on both,
 * alternating Wharf and Distribution (A B, B A, ...) for several rounds, with the machine's ceilings
 * measured in the same run; both on filesystem storage, or with `--s3` both on S3 (Ceph RGW); prints a
 * Markdown table and writes it to `bench/results/`. Run `npm run bench -- --help` for the options.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { clientBench } from './client.js';
import { diskWriteMiBps, loopbackMiBps, sha256MiBps } from './ceilings.js';
import { blobDigest } from './data.js';
import { buildBench, buildTable, type BuildSamples } from './build.js';
import { buildImage, dockerAnswers, pushPull, removeImage } from './docker.js';
import { headLoad } from './head-load.js';
import { proxyHeader, proxyMetrics, proxyPairsTable, proxyRound, startProxyBench, type ProxyBench } from './proxy.js';
import { agent } from './http.js';
import { loadNote, observabilityConfig, observabilityTable, sinkNote, startSink, type SinkStats } from './observability.js';
import { pushPairs } from './push-pairs.js';
import { markdownTable, Results, type Metric } from './report.js';
import { cpuSeconds, installed, startDistribution, startWharf, withPeakRss, type ServerUnderTest } from './servers.js';
import { runScale } from './scale/scale.js';
import { formatNumber } from './stats.js';
import { filesystemStorage, s3Storage, type StorageKind, type StorageUnderTest } from './storage.js';
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
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GROUPS = ['ceilings', 'push', 'pull', 'manifests', 'listings', 'docker', 'client', 'build', 'proxy', 'scale'] as const;
/**
 * The groups run when `--only` is not given: `client` (wharf vs skopeo), `build` (wharf build vs
 * docker build), `proxy` (the pull-through cache vs a direct pull from its upstream) and `scale`
 * (registries of thousands of repositories) run only when asked.
 */
const DEFAULT_GROUPS: Group[] = ['ceilings', 'push', 'pull', 'manifests', 'listings', 'docker'];
/** The groups that need the two servers under test (`client` and `proxy` start their own). */
const PER_SERVER: readonly Group[] = ['push', 'pull', 'manifests', 'listings', 'docker', 'build'];
type Group = (typeof GROUPS)[number];

/** A metric of the table and the workload group that measures it. */
type BenchMetric = Metric & { group: Group };

/**
 * The metrics in table order, with issue 7's targets; labels name the sizes of this run.
 * @param o the run's options (blob size in MiB, tag and repository counts)
 */
function metrics(o: Pick<Options, 'blobMib' | 'tags' | 'repositories' | 'fixedRate'>): BenchMetric[] {
  const blob = o.blobMib % 1024 === 0 ? `${o.blobMib / 1024} GiB` : `${o.blobMib} MiB`;
  const count = (n: number): string => n.toLocaleString('en-US');
  return [
  { key: 'push-monolithic', group: 'push', label: `${blob} blob push, monolithic (POST + PUT)`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'push-streamed', group: 'push', label: `${blob} blob push, streamed (PATCH + PUT)`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'push-chunked', group: 'push', label: `${blob} blob push, chunked`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'commit-chunked', group: 'push', label: `${blob} chunked push: the final PUT after the last PATCH`, unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'pull', group: 'pull', label: `${blob} blob pull`, unit: 'MiB/s', target: { ratioAtLeast: 1.0 } },
  { key: 'fanout', group: 'pull', label: 'concurrent pulls of one blob, aggregate', unit: 'MiB/s', target: { ratioAtLeast: 1.0 } },
  { key: 'cpu-pull', group: 'pull', label: `server CPU per GiB pulled (the ${blob} pull)`, unit: 's/GiB' },
  { key: 'get-tag', group: 'manifests', label: 'manifest GET by tag', unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-get-tag', group: 'manifests', label: 'manifest GET by tag, server CPU per request', unit: 'µs' },
  { key: 'cpu-get-tag-rate', group: 'manifests', label: `manifest GET by tag at a fixed ${count(o.fixedRate)} req/s, server CPU per request`, unit: 'µs' },
  { key: 'get-tag-p99', group: 'manifests', label: 'manifest GET by tag, p99', unit: 'ms', target: { atMost: 10 } },
  { key: 'head-digest', group: 'manifests', label: 'manifest HEAD by digest', unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-head-digest', group: 'manifests', label: 'manifest HEAD by digest, server CPU per request', unit: 'µs' },
  { key: 'head-digest-p99', group: 'manifests', label: 'manifest HEAD by digest, p99', unit: 'ms', target: { atMost: 10 } },
  { key: 'put-tag', group: 'manifests', label: 'manifest PUT by tag', unit: 'req/s', target: { ratioAtLeast: 2 } },
  { key: 'cpu-put-tag', group: 'manifests', label: 'manifest PUT by tag, server CPU per request', unit: 'µs' },
  { key: 'tags-list', group: 'listings', label: `tags/list of ${count(o.tags)} tags`, unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-tags-list', group: 'listings', label: 'tags/list, server CPU per request', unit: 'µs' },
  { key: 'tags-list-p99', group: 'listings', label: 'tags/list, p99', unit: 'ms' },
  { key: 'catalog', group: 'listings', label: `_catalog of ${count(o.repositories)} repositories`, unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'catalog-p99', group: 'listings', label: '_catalog, p99', unit: 'ms' },
  { key: 'docker-push', group: 'docker', label: 'docker push', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'docker-pull', group: 'docker', label: 'docker pull', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'rss-push', group: 'push', label: 'peak RSS during the blob pushes', unit: 'MiB', target: { atMost: 150 } },
  { key: 'rss-manifests', group: 'manifests', label: 'peak RSS during the manifest load', unit: 'MiB', target: { atMost: 150 } },
  ...proxyMetrics(),
  ];
}

/** The command-line options. */
interface Options {
  rounds: number;
  blobMib: number;
  chunkMib: number;
  fanout: number;
  fanoutMib: number;
  connections: number;
  duration: number;
  /** req/s of the second manifest GET load (`cpu-get-tag-rate`), the same for every server */
  fixedRate: number;
  putConnections: number;
  listConnections: number;
  listDuration: number;
  tags: number;
  repositories: number;
  dockerLayers: number;
  dockerLayerMib: number;
  buildModelMib: number;
  docker: boolean;
  distribution: boolean;
  s3: boolean;
  only: Group[];
  observability: boolean;
  /** pushes of each mode by each server per round, interleaved push by push (--observability only) */
  pushRepeats: number;
  wharfNodeArgs: string;
  /** a checkout whose `dist/` holds a baseline build: a second caching Wharf in the proxy's brackets */
  proxyBaseline?: string;
  out: string;
  scaleFull: boolean;
  scaleSizes: number[];
  scaleTags: number;
  scaleLarge: boolean;
  scaleRounds: number;
  scaleSoak: number;
  scaleCold: boolean;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function sizeList(value: string): number[] {
  return value.split(',').map((s) => positive(s.trim()));
}

function groups(value: string): Group[] {
  const list = value.split(',').map((s) => s.trim());
  for (const g of list) if (!(GROUPS as readonly string[]).includes(g)) throw new InvalidArgumentError(`expected some of ${GROUPS.join(',')}`);
  return list as Group[];
}

/** The options whose default depends on the storage. */
type SizeOptions = Pick<Options, 'rounds' | 'blobMib' | 'fanout' | 'fanoutMib' | 'listConnections' | 'listDuration' | 'tags' | 'repositories'>;

/**
 * The defaults of {@link SizeOptions} per storage. On S3 (Ceph RGW on the same 2 cores) blob bytes move
 * at 60-120 MiB/s, so `--s3` runs 2 rounds to stay near 10 minutes; the sizes are the filesystem's
 * (1 GiB blobs, 1,000 tags and repositories). On s3rver (where RGW is missing) pass smaller sizes.
 */
const SIZE_DEFAULTS: Record<StorageKind, SizeOptions> = {
  filesystem: { rounds: 3, blobMib: 1024, fanout: 32, fanoutMib: 64, listConnections: 16, listDuration: 3, tags: 1000, repositories: 1000 },
  s3: { rounds: 2, blobMib: 1024, fanout: 16, fanoutMib: 64, listConnections: 16, listDuration: 3, tags: 1000, repositories: 1000 },
};

/** The scale bench's registries by default (a few minutes), and with `--scale-full` (the issue's sizes). */
const SCALE_QUICK = { scaleSizes: [1000], scaleTags: 10_000 };
const SCALE_FULL = { scaleSizes: [1000, 10_000], scaleTags: 100_000 };

/**
 * Seconds of the manifest GET load at `--fixed-rate`: its figure is CPU per request (the rate is set), and
 * 12,500 requests at 2,500/s read it to about 1 µs.
 */
const FIXED_RATE_SECONDS = 5;

/** `--observability`'s rounds by default: a cost of a few per cent needs more samples than a ratio of 1.2x. */
const OBSERVABILITY_ROUNDS = 7;
/** `--observability`'s pushes of each mode per server and round (push-pairs.ts). */
const OBSERVABILITY_PUSH_REPEATS = 2;

function sizeDefault(key: keyof SizeOptions): string {
  return `(default: ${SIZE_DEFAULTS.filesystem[key]}; with --s3: ${SIZE_DEFAULTS.s3[key]})`;
}

function parseOptions(argv: string[]): Options {
  const program = new Command()
    .name('npm run bench --')
    .description('Wharf against CNCF Distribution (docker-registry), same workloads, alternating A B A B')
    .option('--s3', 'both servers on S3 instead of the filesystem: Ceph RGW started for the run (s3rver where RGW is missing), a bucket each', false)
    .option('--rounds <n>', `rounds of every workload on each server ${sizeDefault('rounds')}`, positive)
    .option('--blob-mib <n>', `size of the pushed and pulled blob, MiB ${sizeDefault('blobMib')}`, positive)
    .option('--chunk-mib <n>', 'PATCH size of the chunked push, MiB', positive, 8)
    .option('--fanout <n>', `concurrent pulls of one blob ${sizeDefault('fanout')}`, positive)
    .option('--fanout-mib <n>', `size of the blob pulled concurrently, MiB ${sizeDefault('fanoutMib')}`, positive)
    .option('--connections <n>', 'connections of the manifest GET/HEAD load', positive, 64)
    .option('--duration <s>', 'seconds each manifest GET/HEAD load aims at (its request count is set from a warm-up\'s rate)', positive, 10)
    .option('--fixed-rate <n>', 'manifest GET by tag once more at this rate (req/s, the same for every server): the server CPU per request of a load that does not depend on how fast the server answers', positive, 2500)
    .option('--put-connections <n>', 'connections of the manifest PUT load', positive, 8)
    .option('--list-connections <n>', `connections of the tags/list and _catalog load ${sizeDefault('listConnections')}`, positive)
    .option('--list-duration <s>', `seconds the manifest PUT, tags/list and _catalog loads aim at ${sizeDefault('listDuration')}`, positive)
    .option('--tags <n>', `tags in the listed repository ${sizeDefault('tags')}`, positive)
    .option('--repositories <n>', `repositories in the catalog ${sizeDefault('repositories')}`, positive)
    .option('--docker-layers <n>', 'layers of the docker push/pull image', positive, 5)
    .option('--docker-layer-mib <n>', 'size of each layer, MiB', positive, 50)
    .option('--build-model-mib <n>', 'size of the model file of the build group (wharf build against docker build + push), MiB', positive, 500)
    .option('--no-docker', 'skip docker push/pull')
    .option('--no-distribution', 'measure Wharf alone')
    .option('--observability', `Wharf against Wharf with metrics and notifications on (in place of Distribution): their cost (${OBSERVABILITY_ROUNDS} rounds unless --rounds)`, false)
    .option('--push-repeats <n>', `--observability: pushes of each mode by each server per round, the two servers interleaved push by push (default ${OBSERVABILITY_PUSH_REPEATS})`, positive, OBSERVABILITY_PUSH_REPEATS)
    .option('--only <groups>', `run only these workload groups (${GROUPS.join(',')})`, groups, DEFAULT_GROUPS)
    .option('--scale-full', `scale: the issue's sizes, ${SCALE_FULL.scaleSizes.join(' and ')} repositories and ${SCALE_FULL.scaleTags} tags (about 20 minutes; or BENCH_SCALE=full)`, false)
    .option('--scale-sizes <list>', `scale: repository counts of the wide registries, 10 tags each (default: ${SCALE_QUICK.scaleSizes.join(',')}; with --scale-full: ${SCALE_FULL.scaleSizes.join(',')})`, sizeList)
    .option('--scale-tags <n>', `scale: tags of the one-repository registry, 0: none (default: ${SCALE_QUICK.scaleTags}; with --scale-full: ${SCALE_FULL.scaleTags})`, (v: string) => (v === '0' ? 0 : positive(v)))
    .option('--scale-rounds <n>', 'scale: rounds of each garbage collection on each server (0: none, the admin rows alone)', (v: string) => (v === '0' ? 0 : positive(v)), 2)
    .option('--scale-soak <n>', 'scale: cycles of mixed traffic (pushes, pulls, admin pages, a GC) on the smallest registry, RSS after each (0: none)', (v: string) => (v === '0' ? 0 : positive(v)), 10)
    .option('--scale-large', 'scale: also 100,000 repositories, Wharf alone (long: about 45 minutes, 40 GB with the 10,000 registry beside it, and 7 million files: run it alone)', false)
    .option('--scale-cold', 'scale: drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches, as root) before each timed first row of every size, so small and large registries are measured alike from disk', false)
    .option('--wharf-node-args <args>', 'extra node arguments for Wharf, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"', '')
    .option('--proxy-baseline <dir>', 'proxy: also measure the caching Wharf built in <dir> (its dist/, e.g. a checkout of main) in the same brackets')
    .option('--out <dir>', 'where the Markdown table is written', join(REPO_ROOT, 'bench/results'));
  program.parse(argv);
  const given = program.opts<Partial<Options>>();
  const defaults = SIZE_DEFAULTS[given.s3 ? 's3' : 'filesystem'];
  const sizes = Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, given[key as keyof SizeOptions] ?? value]));
  if (given.observability && given.rounds === undefined) sizes.rounds = OBSERVABILITY_ROUNDS;
  const scale = given.scaleFull || process.env.BENCH_SCALE === 'full' ? SCALE_FULL : SCALE_QUICK;
  return { ...given, ...sizes, scaleSizes: given.scaleSizes ?? scale.scaleSizes, scaleTags: given.scaleTags ?? scale.scaleTags } as Options;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** What each server holds for the workloads after set-up. */
interface Prepared {
  server: ServerUnderTest;
  image?: SmallImage;
  tagged?: SmallImage;
  fanoutDigest?: string;
}

async function prepare(server: ServerUnderTest, options: Options, fanoutDigest: string, fanoutSeed: string): Promise<Prepared> {
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
function digestOf(seed: string, size: number): string {
  const known = digests.get(seed);
  if (known) return known;
  const digest = blobDigest(seed, size);
  digests.set(seed, digest);
  return digest;
}

/** Runs one round of group `group` on one server, recording into `results`. */
async function runGroup(group: Group, p: Prepared, round: number, options: Options, results: Results): Promise<void> {
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
async function measureCeilings(dir: string, options: Options, results: Results): Promise<void> {
  const bytes = Math.max(256, options.blobMib / 2) * MiB;
  results.addCeiling('sha256 (1 core)', sha256MiBps(bytes));
  results.addCeiling('disk write (new file, fsync)', await diskWriteMiBps(dir, bytes));
  results.addCeiling('loopback TCP', await loopbackMiBps(2 * bytes));
}

/** Runs the scale bench (its own registries and servers) and writes its tables. */
async function scaleMain(options: Options): Promise<void> {
  const started = Date.now();
  await mkdir(join(REPO_ROOT, '.tmp'), { recursive: true });
  const work = await mkdtemp(join(REPO_ROOT, '.tmp', 'bench-scale-'));
  try {
    const tables = await runScale(
      { sizes: options.scaleSizes, tallTags: options.scaleTags, large: options.scaleLarge, distribution: options.distribution, soakCycles: options.scaleSoak },
      { repoRoot: REPO_ROOT, work, rounds: options.scaleRounds, wharfNodeArgs: options.wharfNodeArgs.split(' ').filter(Boolean), cold: options.scaleCold, log },
    );
    const header = [
      `# Wharf vs CNCF Distribution at scale, filesystem storage, ${new Date().toISOString()}`,
      '',
      `${cpus().length} cores, Node ${process.version}; ${options.scaleRounds} rounds of each garbage collection, alternating Wharf and Distribution, ` +
        'each a process of its own measured by GNU time (wall time, peak RSS); Wharf with `gc.grace: 0s`; Distribution ' +
        "2.8.2's output to a file. Time in ms is one request's, or the median of 5-10 in a row (steady).",
      '',
      options.scaleCold
        ? '**Cold rows** (`--scale-cold`): the page cache was dropped before each server start, first catalog answer, in-server GC and GC run, at every size; steady rows are warm by definition.'
        : 'Warm rows: the page cache is kept (a registry larger than the memory reads from disk, a small one does not; `--scale-cold` measures every size cold).',
      '',
    ];
    const text = [...header, tables].join('\n');
    await mkdir(options.out, { recursive: true });
    const file = join(options.out, `bench-scale-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
    await writeFile(file, text);
    process.stdout.write(text);
    log(`written to ${file}; the scale run took ${Math.round((Date.now() - started) / 1000)} s; deleting its registries`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv);
  if (options.only.includes('scale')) {
    await scaleMain(options);
    options.only = options.only.filter((g) => g !== 'scale');
    if (options.only.length === 0) return;
  }
  const started = Date.now();
  // under the repository's .tmp/ (ignored by git), not /tmp, where other jobs' clean-ups may sweep wharf-* folders
  await mkdir(join(REPO_ROOT, '.tmp'), { recursive: true });
  const work = await mkdtemp(join(REPO_ROOT, '.tmp', 'bench-'));
  const results = new Results();
  const servers: ServerUnderTest[] = [];
  /** servers of workloads with a set-up of their own (the proxy's upstream and cache), stopped with the others */
  const others: ServerUnderTest[] = [];
  let storage: StorageUnderTest | undefined;
  let dockerImage = false;
  let sink: Awaited<ReturnType<typeof startSink>> | undefined;
  let sinkStats: SinkStats | undefined;
  let loadAtStart: number | undefined;
  let build: BuildSamples | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    stopping = true;
    log(`${signal}: stopping the servers`);
    void Promise.all([...servers, ...others].map((s) => s.stop()))
      .then(() => storage?.stop())
      .then(() => rm(work, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  if (options.only.includes('client')) {
    try {
      const text = await clientBench(REPO_ROOT, work, options.rounds, log);
      await mkdir(options.out, { recursive: true });
      const file = join(options.out, `bench-client-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
      await writeFile(file, text);
      process.stdout.write(text);
      log(`written to ${file}`);
    } finally {
      if (options.only.length === 1) await rm(work, { recursive: true, force: true });
    }
    if (options.only.length === 1) return;
  }
  try {
    loadAtStart = loadavg()[0]!;
    storage = options.s3 ? await s3Storage(work) : filesystemStorage();
    results.notes.push(...storage.notes);
    const withDistribution = !options.observability && options.distribution && installed('docker-registry');
    if (!options.observability && options.distribution && !withDistribution) results.notes.push('docker-registry is not installed: Wharf measured alone (apt-get install docker-registry)');
    const nodeArgs = options.wharfNodeArgs.split(' ').filter(Boolean);
    const perServer = options.observability || options.only.some((g) => PER_SERVER.includes(g));
    if (perServer) servers.push(await startWharf(REPO_ROOT, join(work, 'wharf'), storage, nodeArgs));
    if (perServer && withDistribution) servers.push(await startDistribution(join(work, 'distribution'), storage));
    if (options.observability) {
      sink = await startSink();
      const observed = await observabilityConfig(sink.url);
      servers.push(await startWharf(REPO_ROOT, join(work, 'wharf-observed'), storage, nodeArgs, observed.yaml, 'distribution', observed.env));
    }
    let proxy: ProxyBench | undefined;
    if (options.only.includes('proxy')) {
      if (!installed('docker-registry')) throw new Error('the proxy workload needs CNCF Distribution as its upstream: apt-get install docker-registry');
      log('proxy: starting the upstream (Distribution), pushing its images, starting the caching Wharf');
      proxy = await startProxyBench(REPO_ROOT, work, storage, nodeArgs, options.proxyBaseline);
      others.push(proxy.upstream, ...proxy.caches.map((c) => c.server));
    }
    log(`servers: ${servers.map((s) => `${s.kind} ${s.url}`).join(', ')}; temp ${work}`);
    const fanoutSeed = 'fanout';
    const fanoutDigest = digestOf(fanoutSeed, options.fanoutMib * MiB);
    const prepared: Prepared[] = [];
    for (const server of servers) prepared.push(await prepare(server, options, fanoutDigest, fanoutSeed));
    const only = new Set(options.only);
    if (only.has('docker') && options.docker) {
      if (await dockerAnswers()) {
        log(`building the docker image (${options.dockerLayers} x ${options.dockerLayerMib} MiB)`);
        await buildImage(join(work, 'image'), options.dockerLayers, options.dockerLayerMib);
        dockerImage = true;
      } else {
        results.notes.push('the Docker daemon does not answer (set DOCKER_HOST): docker push/pull skipped');
        only.delete('docker');
      }
    } else only.delete('docker');
    if (only.has('build')) {
      only.delete('build');
      if (await dockerAnswers()) {
        const wharf = servers.find((s) => s.kind === 'wharf')!;
        build = await buildBench({ registry: wharf.host, rounds: options.rounds, modelMib: options.buildModelMib, work: join(work, 'build'), repoRoot: REPO_ROOT, log });
      } else results.notes.push('the Docker daemon does not answer (set DOCKER_HOST): wharf build against docker build skipped');
    }
    for (let round = 1; round <= options.rounds; round++) {
      if (only.has('ceilings')) {
        log(`round ${round}: ceilings`);
        await measureCeilings(work, options, results);
      }
      if (proxy) {
        log(`round ${round}: proxy (direct from the upstream, cold and warm through Wharf)`);
        await proxyRound(proxy, results).catch((err: unknown) => {
          results.notes.push(`round ${round}, proxy failed: ${(err as Error).message}`);
          for (const m of proxyMetrics()) results.expectRow(m.key);
        });
      }
      // the servers take turns at going first (A B, B A, ...): the one after inherits the machine the first left (dirty pages, warm caches)
      const order = round % 2 === 1 ? prepared : [...prepared].reverse();
      for (const group of GROUPS.filter((g) => g !== 'ceilings' && g !== 'client' && g !== 'proxy' && only.has(g))) {
        if (group === 'push' && options.observability) {
          log(`round ${round}: push, the two servers interleaved push by push`);
          const pushOptions = { size: options.blobMib * MiB, chunkBytes: options.chunkMib * MiB, repeats: options.pushRepeats, keepChunked: options.only.includes('pull'), digestOf };
          await pushPairs(prepared.map((p) => p.server), round, pushOptions, results).catch((err: unknown) => {
            results.notes.push(`round ${round}, push failed: ${(err as Error).message}`);
            for (const m of metrics(options)) if (m.group === group) results.expectRow(m.key);
          });
          continue;
        }
        for (const p of order) {
          log(`round ${round}: ${group} on ${p.server.kind}`);
          try {
            await runGroup(group, p, round, options, results);
          } catch (err) {
            const message = `round ${round}, ${group} on ${p.server.kind} failed: ${(err as Error).message}`;
            results.notes.push(message);
            for (const m of metrics(options)) if (m.group === group) results.expectRow(m.key);
            log(message);
          }
        }
      }
    }
  } finally {
    agent.destroy();
    await Promise.all([...servers, ...others].map((s) => s.stop()));
    sinkStats = await sink?.stats().catch(() => undefined);
    await sink?.stop();
    await storage?.stop();
    if (dockerImage) await removeImage();
    await rm(work, { recursive: true, force: true });
  }
  const kind: StorageKind = options.s3 ? 's3' : 'filesystem';
  const proxyOnly = options.only.every((g) => g === 'proxy');
  const header = proxyOnly ? proxyHeader(options.rounds, cpus().length, storage!.description) : [
    `# Wharf vs ${options.observability ? 'Wharf with metrics and notifications' : 'CNCF Distribution'} on ${kind === 's3' ? 'S3' : 'filesystem storage'}, ${new Date().toISOString()}`,
    '',
    `${cpus().length} cores, Node ${process.version}; ${options.rounds} rounds, alternating Wharf and ${options.observability ? 'the observed Wharf' : 'Distribution'}, each going first every other round; ` +
      `blob ${formatNumber(options.blobMib)} MiB (chunks ${options.chunkMib} MiB), ${options.fanout} concurrent pulls of ${options.fanoutMib} MiB, ` +
      `manifest GET/HEAD ${options.connections} connections x ${options.duration} s, PUT ${options.putConnections} connections, ` +
      `listings ${options.listConnections} connections x ${options.listDuration} s, docker ${options.dockerLayers} x ${options.dockerLayerMib} MiB layers. ` +
      `${storage!.description}; both servers log requests at info.`,
    '',
  ];
  if (options.observability) results.notes.push(sinkNote(sinkStats));
  results.notes.push(loadNote(loadAtStart, loadavg()[0]!, cpus().length));
  const notes = results.notes.length > 0 ? ['', 'Notes:', ...results.notes.map((n) => `- ${n}`)] : [];
  const names: [string, string] = options.observability ? ['Wharf', 'Wharf with metrics and notifications'] : ['Wharf', 'Distribution'];
  const buildSection = build ? ['', `wharf build against DOCKER_BUILDKIT=0 docker build + docker push (both into Wharf), ${options.rounds} rounds alternating which goes first:`, '', buildTable(build, options.buildModelMib)] : [];
  const costSection = options.observability ? ['', 'The cost of metrics and notifications (1 - observed/plain; per round: the two samples of the same round):', '', observabilityTable(results)] : [];
  const proxySection = options.only.includes('proxy') ? ['', 'The pull-through cache per bracket (direct, cold, warm, direct):', '', proxyPairsTable(results)] : [];
  const text = [...header, markdownTable(results, metrics(options), names), ...proxySection, ...costSection, ...buildSection, ...notes, ''].join('\n');
  await mkdir(options.out, { recursive: true });
  const file = join(options.out, `bench-${kind}-${new Date().toISOString().replace(/[:.]/g, '-')}.md`);
  await writeFile(file, text);
  process.stdout.write(text);
  log(`written to ${file}; the run took ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Set by a SIGINT or SIGTERM: the signal's handler stops what the run started, then exits. */
let stopping = false;

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  if (!stopping) process.exit(1);
});
