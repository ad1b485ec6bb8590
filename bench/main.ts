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
import { clientBench } from './client.js';
import { buildBench, buildTable, type BuildSamples } from './build.js';
import { buildImage, dockerAnswers, removeImage } from './docker.js';
import { proxyHeader, proxyMetrics, proxyPairsTable, proxyRound, startProxyBench, type ProxyBench } from './proxy.js';
import { agent } from './http.js';
import { metrics } from './metrics.js';
import { loadNote, observabilityConfig, observabilityTable, sinkNote, startSink, type SinkStats } from './observability.js';
import { GROUPS, parseOptions, type Group, type Options } from './options.js';
import { pushPairs } from './push-pairs.js';
import { markdownTable, Results } from './report.js';
import { digestOf, measureCeilings, prepare, runGroup, type Prepared } from './run-group.js';
import { installed, startDistribution, startWharf, type ServerUnderTest } from './servers.js';
import { runScale } from './scale/scale.js';
import { formatNumber } from './stats.js';
import { filesystemStorage, s3Storage, type StorageKind, type StorageUnderTest } from './storage.js';

const MiB = 1024 * 1024;
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The groups that need the two servers under test (`client` and `proxy` start their own). */
const PER_SERVER: readonly Group[] = ['push', 'pull', 'manifests', 'listings', 'docker', 'build'];

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
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
  const options = parseOptions(process.argv, REPO_ROOT);
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
