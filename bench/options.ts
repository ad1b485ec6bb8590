/**
 * The options of `npm run bench`: the workload groups, the defaults that depend on the storage
 * (filesystem or `--s3`) and on the scale bench, and the command-line parsing (commander).
 */
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import type { StorageKind } from './storage.js';

/** The workload groups, in the order a round runs them. */
export const GROUPS = ['ceilings', 'push', 'pull', 'manifests', 'listings', 'docker', 'client', 'build', 'proxy', 'scale'] as const;
/**
 * The groups run when `--only` is not given: `client` (wharf vs skopeo), `build` (wharf build vs
 * docker build), `proxy` (the pull-through cache vs a direct pull from its upstream) and `scale`
 * (registries of thousands of repositories) run only when asked.
 */
const DEFAULT_GROUPS: Group[] = ['ceilings', 'push', 'pull', 'manifests', 'listings', 'docker'];
/** A workload group (`--only`). */
export type Group = (typeof GROUPS)[number];

/** The command-line options. */
export interface Options {
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

/** The scale bench's registries by default (a few minutes), and with `--scale-full` (the sizes). */
const SCALE_QUICK = { scaleSizes: [1000], scaleTags: 10_000 };
const SCALE_FULL = { scaleSizes: [1000, 10_000], scaleTags: 100_000 };

/** `--observability`'s rounds by default: a cost of a few per cent needs more samples than a ratio of 1.2x. */
const OBSERVABILITY_ROUNDS = 7;
/** `--observability`'s pushes of each mode per server and round (push-pairs.ts). */
const OBSERVABILITY_PUSH_REPEATS = 2;

function sizeDefault(key: keyof SizeOptions): string {
  return `(default: ${SIZE_DEFAULTS.filesystem[key]}; with --s3: ${SIZE_DEFAULTS.s3[key]})`;
}

/**
 * The run's options from the command line, with the defaults of the storage it names (`--s3`), of
 * `--observability` and of the scale bench (`--scale-full` or BENCH_SCALE=full) filled in.
 * @param repoRoot the checkout, under which `--out` defaults to `bench/results`
 * @throws (through commander: a one-line error and exit 1) on an invalid option
 */
export function parseOptions(argv: string[], repoRoot: string): Options {
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
    .option('--out <dir>', 'where the Markdown table is written', join(repoRoot, 'bench/results'));
  program.parse(argv);
  const given = program.opts<Partial<Options>>();
  const defaults = SIZE_DEFAULTS[given.s3 ? 's3' : 'filesystem'];
  const sizes = Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, given[key as keyof SizeOptions] ?? value]));
  if (given.observability && given.rounds === undefined) sizes.rounds = OBSERVABILITY_ROUNDS;
  const scale = given.scaleFull || process.env.BENCH_SCALE === 'full' ? SCALE_FULL : SCALE_QUICK;
  return { ...given, ...sizes, scaleSizes: given.scaleSizes ?? scale.scaleSizes, scaleTags: given.scaleTags ?? scale.scaleTags } as Options;
}
