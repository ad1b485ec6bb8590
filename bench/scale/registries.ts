/**
 * One registry of the scale bench, measured end to end: its content written into Wharf's and
 * Distribution's storage, both servers started and checked with pulls, the admin API, the catalog and
 * tag listing measured (Wharf's index build, first and steady answers, memory before and after), then
 * garbage collection as a process of its own on each, alternating Wharf and Distribution, with the
 * garbage written back after every deleting run so each round collects the same data. Each GC row
 * (dry run, deleting untagged) records a round only as a pair: Wharf's run and Distribution's, one
 * right after the other on the same data; a round where either failed is left out for both.
 */
import { join } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { expect, send } from '../http.js';
import { Results } from '../report.js';
import { cpuSeconds, startDistribution, startWharf, type ServerUnderTest } from '../servers.js';
import { filesystemStorage } from '../storage.js';
import { TALL_NAME, type RepositoryContent } from './content.js';
import { distributionWriter, wharfWriter, type LayoutWriter } from './layouts.js';
import { catalogNames, dropCaches, runMeasured, settledRss, steady, timed, verifyPulls } from './measure.js';
import { soak } from './soak.js';

/** A registry to measure. */
export interface ScaleRegistry {
  /** `wide-10000`, `tall-100000`: the folder and the table's name */
  label: string;
  kind: 'wide' | 'tall';
  /** the content, one repository (or one part of the tall repository) at a time */
  content(): Iterable<RepositoryContent>;
  /** repositories (whole) the checks pull from */
  sample: RepositoryContent[];
  repositories: number;
  /** run Distribution too (it needs about three times Wharf's files) */
  distribution: boolean;
  /** cycles of the soak on Wharf after the measurements (0: none) */
  soakCycles: number;
}

/** How the registries are measured. */
export interface ScaleRun {
  repoRoot: string;
  work: string;
  rounds: number;
  wharfNodeArgs: string[];
  /** drop the page cache before each timed first row (the index build, first answers, GC runs): every size measured cold */
  cold: boolean;
  log(message: string): void;
}

const WHARF_CONFIG = 'gc:\n  grace: 0s\n';
const SETTLE_MS = 3000;

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** What a collection reported it deletes (would delete), from its output: both must agree on the same data. */
async function gcCounts(kind: 'wharf' | 'distribution', stdout: string): Promise<string> {
  const text = await readFile(stdout, 'utf8');
  if (kind === 'wharf') {
    const report = JSON.parse(text) as { blobsDeleted: number; manifestsDeleted: number; linksDeleted: number };
    return `${report.blobsDeleted} blobs and ${report.manifestsDeleted} manifests eligible for deletion (${report.linksDeleted} blob links)`;
  }
  return /(\d+ blobs marked, \d+ blobs and \d+ manifests eligible for deletion)/.exec(text)?.[1] ?? 'no summary line';
}

/** Writes the registry's content (or its garbage part) through each writer. */
function write(registry: ScaleRegistry, writers: LayoutWriter[], part: 'all' | 'garbage'): void {
  for (const content of registry.content()) for (const w of writers) w.write(content, part);
}

/**
 * Polls `GET /admin/v1/index` until the index is ready; a server without the endpoint (404) counts as ready.
 * @returns seconds waited
 */
async function indexReady(base: string, deadlineMs = 3_600_000): Promise<number> {
  const start = process.hrtime.bigint();
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const answer = await send(`${base}/admin/v1/index`);
    if (answer.status === 404) return seconds(start);
    if (answer.status === 200 && (JSON.parse(answer.body.toString('utf8')) as { state?: string }).state === 'ready') return seconds(start);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${base}: the admin index was not ready within ${deadlineMs} ms`);
}

/** Runs a garbage collection through the admin API and waits for it. @returns seconds */
async function gcThroughApi(base: string): Promise<number> {
  const start = process.hrtime.bigint();
  const started = await expect(202, `${base}/admin/v1/gc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"dryRun":true}' });
  const { id } = JSON.parse(started.body.toString('utf8')) as { id: string };
  for (;;) {
    const record = JSON.parse((await expect(200, `${base}/admin/v1/gc/${id}`)).body.toString('utf8')) as { state: string; error: string | null };
    if (record.state === 'failed') throw new Error(`GC run ${id} failed: ${record.error}`);
    if (record.state === 'succeeded') return seconds(start);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The `next` cursor link of an answer, or undefined. */
function nextLink(headers: Record<string, unknown>): string | undefined {
  return /<([^>]+)>;\s*rel="next"/.exec(String(headers.link ?? ''))?.[1];
}

/** Wharf's admin API and memory on a wide registry. */
async function wharfWide(server: ServerUnderTest, results: Results, restart: () => Promise<ServerUnderTest>, chill: () => Promise<void>): Promise<ServerUnderTest> {
  const base = server.url;
  results.add('index-build', 'wharf', await indexReady(base));
  const idle = await settledRss(server.pid, SETTLE_MS);
  results.add('rss-idle', 'wharf', idle);
  results.add('admin-first', 'wharf', (await timed(`${base}/admin/v1/repositories?n=100`)).ms);
  results.add('admin-steady', 'wharf', await steady(`${base}/admin/v1/repositories?n=100`, 10));
  results.add('admin-sorted', 'wharf', await steady(`${base}/admin/v1/repositories?n=100&sort=total&order=desc`, 10));
  results.add('admin-filtered', 'wharf', await steady(`${base}/admin/v1/repositories?n=100&q=app1`, 10));
  let url: string | undefined = '/admin/v1/repositories?n=100&sort=lastPush&order=desc';
  for (let page = 1; page < 20 && url; page++) url = nextLink((await timed(`${base}${url}`)).answer.headers);
  if (url) results.add('admin-deep', 'wharf', await steady(`${base}${url}`, 10));
  results.add('storage', 'wharf', await steady(`${base}/admin/v1/storage`, 5));
  await chill();
  const cpuBefore = await cpuSeconds(server.pid);
  results.add('gc-api', 'wharf', await gcThroughApi(base));
  const cpuAfter = await cpuSeconds(server.pid);
  if (cpuBefore !== undefined && cpuAfter !== undefined) results.add('gc-api-cpu', 'wharf', cpuAfter - cpuBefore);
  await timed(`${base}/admin/v1/repositories?n=100&sort=unique`);
  const after = await settledRss(server.pid, SETTLE_MS);
  results.add('rss-after', 'wharf', after);
  results.add('rss-growth', 'wharf', after - idle);
  const next = await restart();
  const ready = await timed(`${next.url}/admin/v1/repositories?n=100`);
  results.add('admin-restart', 'wharf', ready.ms);
  return next;
}

/** Wharf's listings and memory on the tall registry. */
async function wharfTall(server: ServerUnderTest, results: Results): Promise<void> {
  const base = server.url;
  await indexReady(base);
  const idle = await settledRss(server.pid, SETTLE_MS);
  results.add('rss-idle', 'wharf', idle);
  results.add('admin-first', 'wharf', (await timed(`${base}/admin/v1/repositories?n=100`)).ms);
  const tags = `${base}/admin/v1/repositories/${TALL_NAME}/tags?n=100`;
  results.add('admin-tags-first', 'wharf', (await timed(tags)).ms);
  results.add('admin-tags-steady', 'wharf', await steady(tags, 5));
  results.add('admin-tags-sorted', 'wharf', await steady(`${tags}&sort=size&order=desc`, 5));
  await gcThroughApi(base);
  const after = await settledRss(server.pid, SETTLE_MS);
  results.add('rss-after', 'wharf', after);
  results.add('rss-growth', 'wharf', after - idle);
}

/** What both servers answer alike: the catalog (wide) or the tag list (tall), first and steady. */
async function listings(server: ServerUnderTest, registry: ScaleRegistry, results: Results, chill: () => Promise<void>): Promise<void> {
  const base = server.url;
  await chill();
  if (registry.kind === 'wide') {
    results.add('catalog-first', server.kind, (await timed(`${base}/v2/_catalog?n=1000`)).ms);
    results.add('catalog-steady', server.kind, await steady(`${base}/v2/_catalog?n=1000`, 10));
  } else {
    results.add('tags-first', server.kind, (await timed(`${base}/v2/${TALL_NAME}/tags/list`)).ms);
    results.add('tags-steady', server.kind, await steady(`${base}/v2/${TALL_NAME}/tags/list`, 5));
  }
}

/** Checks that `server` serves the registry: sample pulls, and on a wide registry the whole catalog. */
async function verify(server: ServerUnderTest, registry: ScaleRegistry): Promise<void> {
  await verifyPulls(server.url, registry.sample);
  if (registry.kind === 'wide') {
    const names = await catalogNames(server.url, 1000);
    if (names.length !== registry.repositories) throw new Error(`${server.kind}: _catalog lists ${names.length} repositories, expected ${registry.repositories}`);
  }
}

/**
 * Measures `registry`; every failed step becomes a note under its table. Its folder under `run.work`
 * is left for the caller to delete.
 * @returns the samples, and the registry's notes
 */
export async function measureRegistry(registry: ScaleRegistry, run: ScaleRun): Promise<{ results: Results; notes: string[] }> {
  const results = new Results();
  const dir = join(run.work, registry.label);
  const storage = filesystemStorage();
  const wharfDir = join(dir, 'wharf');
  const distributionDir = join(dir, 'distribution');
  await mkdir(join(wharfDir, 'storage'), { recursive: true });
  await mkdir(join(distributionDir, 'storage'), { recursive: true });
  const writers = { wharf: wharfWriter(join(wharfDir, 'storage')), distribution: distributionWriter(join(distributionDir, 'storage')) };
  const both = registry.distribution ? [writers.wharf, writers.distribution] : [writers.wharf];
  let started = process.hrtime.bigint();
  write(registry, both, 'all');
  results.notes.push(`content written in ${seconds(started).toFixed(0)} s (${registry.distribution ? 'both layouts' : "Wharf's layout"})`);
  run.log(`${registry.label}: written in ${seconds(started).toFixed(0)} s`);

  const servers: ServerUnderTest[] = [];
  const chill = () => (run.cold ? dropCaches() : Promise.resolve());
  const failed = (what: string) => (err: unknown) => {
    results.notes.push(`${what} failed: ${(err as Error).message}`);
    run.log(`${registry.label}: ${what}: ${(err as Error).message}`);
  };
  try {
    await chill();
    let wharf = await startWharf(run.repoRoot, wharfDir, storage, run.wharfNodeArgs, WHARF_CONFIG);
    servers.push(wharf);
    const restart = async () => {
      await wharf.stop();
      servers.splice(servers.indexOf(wharf), 1);
      await chill();
      wharf = await startWharf(run.repoRoot, wharfDir, storage, run.wharfNodeArgs, WHARF_CONFIG);
      servers.push(wharf);
      return wharf;
    };
    await (registry.kind === 'wide' ? wharfWide(wharf, results, restart, chill) : wharfTall(wharf, results)).catch(failed("Wharf's admin API"));
    await listings(wharf, registry, results, chill).catch(failed("Wharf's listings"));
    await verify(wharf, registry);
  } catch (err) {
    failed('Wharf')(err);
  } finally {
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  }
  if (registry.distribution) {
    try {
      const distribution = await startDistribution(distributionDir, storage);
      servers.push(distribution);
      if (registry.kind === 'wide') results.add('rss-idle', 'distribution', await settledRss(distribution.pid, SETTLE_MS));
      await listings(distribution, registry, results, chill).catch(failed("Distribution's listings"));
      await verify(distribution, registry);
    } catch (err) {
      failed('Distribution')(err);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    }
  }

  const gcRuns: { kind: 'wharf' | 'distribution'; real: boolean }[] = [];
  for (const real of [false, true]) {
    gcRuns.push({ kind: 'wharf', real });
    if (registry.distribution && !(real && registry.kind === 'tall')) gcRuns.push({ kind: 'distribution', real });
  }
  if (registry.distribution && registry.kind === 'tall') {
    results.notes.push("Distribution's `--delete-untagged` is not run on the tall registry: it looks up every tag for every manifest (10^10 reads at 100,000 tags)");
  }
  for (let round = 1; round <= run.rounds; round++) {
    /** Wharf's run of this round, kept until Distribution's run of the same kind ends: only pairs are recorded */
    const pending = new Map<string, { seconds: number; peakMiB: number; cpuSeconds: number }>();
    for (const { kind, real } of gcRuns) {
      const key = real ? 'gc-real' : 'gc-dry';
      const files = { stdout: join(dir, `${kind}-gc.out`), stderr: join(dir, `${kind}-gc.err`), time: join(dir, `${kind}-gc.time`) };
      const config = join(kind === 'wharf' ? wharfDir : distributionDir, 'config.yml');
      const args =
        kind === 'wharf'
          ? [join(run.repoRoot, 'dist/src/main.js'), 'gc', '--config', config, '--json', ...(real ? ['--delete-untagged'] : ['--dry-run'])]
          : ['garbage-collect', ...(real ? ['--delete-untagged'] : ['--dry-run']), config];
      run.log(`${registry.label} round ${round}: ${kind} ${key}`);
      await chill();
      started = process.hrtime.bigint();
      const measured = await runMeasured(kind === 'wharf' ? process.execPath : 'docker-registry', kind === 'wharf' ? [...run.wharfNodeArgs, ...args] : args, files);
      if (measured.code !== 0) {
        const stderr = (await readFile(files.stderr, 'utf8')).trim().split('\n').slice(-3).join(' / ');
        results.notes.push(`round ${round}: ${kind} ${key} exited ${measured.code}: ${stderr.slice(0, 500)}; the round's pair is not recorded`);
        if (real) write(registry, [kind === 'wharf' ? writers.wharf : writers.distribution], 'garbage');
        continue;
      }
      if (real) write(registry, [kind === 'wharf' ? writers.wharf : writers.distribution], 'garbage');
      if (round === 1) results.notes.push(`${kind} ${key}: ${await gcCounts(kind, files.stdout)}`);
      const paired = gcRuns.some((r) => r.kind === 'distribution' && r.real === real);
      if (kind === 'wharf' && paired) {
        pending.set(key, measured);
        continue;
      }
      const wharfRun = kind === 'distribution' ? pending.get(key) : measured;
      if (!wharfRun) continue; // Wharf's run of this round failed: Distribution's is not recorded alone
      results.add(key, 'wharf', wharfRun.seconds);
      results.add(`${key}-rss`, 'wharf', wharfRun.peakMiB);
      results.add(`${key}-cpu`, 'wharf', wharfRun.cpuSeconds);
      if (kind === 'distribution') {
        results.add(key, kind, measured.seconds);
        results.add(`${key}-rss`, kind, measured.peakMiB);
        results.add(`${key}-cpu`, kind, measured.cpuSeconds);
        results.notes.push(
          `round ${round} ${key}: Wharf ${wharfRun.seconds.toFixed(1)} s (CPU ${wharfRun.cpuSeconds.toFixed(1)} s), Distribution ${measured.seconds.toFixed(1)} s (CPU ${measured.cpuSeconds.toFixed(1)} s): ` +
            `${(wharfRun.seconds / measured.seconds).toFixed(2)}x wall, ${(wharfRun.cpuSeconds / measured.cpuSeconds).toFixed(2)}x CPU, one after the other on the same data`,
        );
      }
    }
  }
  // last: the soak's pushes and garbage collections change the registry the rows above compare
  if (registry.soakCycles > 0) {
    try {
      const wharf = await startWharf(run.repoRoot, wharfDir, storage, run.wharfNodeArgs, WHARF_CONFIG);
      servers.push(wharf);
      await indexReady(wharf.url);
      await soak(wharf, registry.soakCycles, results, run.log);
    } catch (err) {
      failed('the soak')(err);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    }
  }
  // the registry's folder stays under `run.work` until the tables are written: deleting 100,000
  // repositories (7 million files) takes longer than measuring them
  return { results, notes: results.notes };
}
