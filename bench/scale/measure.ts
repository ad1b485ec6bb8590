/**
 * How the scale bench measures: one timed request, the median of repeated requests, a garbage
 * collection run as a process of its own (wall time and peak resident memory from GNU time), a
 * server's resident memory once it has settled, and pulls that check a registry serves the content
 * written into its storage.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { expect, send, type Answer } from '../http.js';
import { residentBytes } from '../servers.js';
import { summarize } from '../stats.js';
import { MEDIA, type RepositoryContent } from './content.js';

const MiB = 1024 * 1024;

/**
 * One GET of `url`, timed.
 * @returns ms from the request to the end of the body, and the answer
 * @throws Error unless the status is 200
 */
export async function timed(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; answer: Answer }> {
  const start = process.hrtime.bigint();
  const answer = await expect(200, url, { headers });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, answer };
}

/** The median ms of `count` GETs of `url`, one after the other. @throws Error unless each is 200 */
export async function steady(url: string, count: number, headers: Record<string, string> = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) times.push((await timed(url, headers)).ms);
  return summarize(times)!.median;
}

/** What a process run measured. */
export interface ProcessRun {
  seconds: number;
  /** peak resident set size, MiB */
  peakMiB: number;
  /** CPU time of the process (user + system), seconds: what the machine's load bends least */
  cpuSeconds: number;
  /** the exit code */
  code: number;
}

/**
 * Runs `command args` under GNU time (`/usr/bin/time`), its stdout to `stdoutFile` and stderr to
 * `stderrFile`: wall time, CPU time (user + system) and the peak RSS the kernel accounted to it.
 * @throws Error when GNU time reports nothing
 */
export async function runMeasured(command: string, args: string[], files: { stdout: string; stderr: string; time: string }): Promise<ProcessRun> {
  const out = openSync(files.stdout, 'w');
  const err = openSync(files.stderr, 'w');
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('/usr/bin/time', ['-f', '%e %M %U %S', '-o', files.time, command, ...args], { stdio: ['ignore', out, err] });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c ?? 1));
    });
    const [seconds, kib, user, system] = (await readFile(files.time, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number, number];
    if (![seconds, kib, user, system].every(Number.isFinite)) throw new Error(`GNU time wrote nothing usable to ${files.time}`);
    return { seconds, peakMiB: kib / 1024, cpuSeconds: user + system, code };
  } finally {
    closeSync(out);
    closeSync(err);
  }
}

const exec = (command: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });

/**
 * Empties the kernel's page cache, dentries and inodes (`sync; echo 3 > /proc/sys/vm/drop_caches`),
 * so the next row reads the registry from disk whatever its size.
 * @param control the file written (the kernel's, unless a test names another)
 * @throws Error saying so when this process may not (it needs root, and a writable /proc/sys)
 */
export async function dropCaches(control = '/proc/sys/vm/drop_caches'): Promise<void> {
  await exec('sync', []);
  try {
    await writeFile(control, '3\n');
  } catch (err) {
    throw new Error(`--scale-cold: cannot drop the page cache (${(err as NodeJS.ErrnoException).code ?? (err as Error).message} writing ${control}): run the bench as root, or without --scale-cold`);
  }
}

/** Process `pid`'s RSS in MiB after `settleMs` of quiet (the allocator and V8 give memory back after a while). */
export async function settledRss(pid: number, settleMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return ((await residentBytes(pid)) ?? 0) / MiB;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Pulls each repository's first and last tag whole (manifest by tag, config and layers by digest)
 * and checks every digest: the storage was written in a layout the registry serves.
 * @throws Error naming the first object that does not match
 */
export async function verifyPulls(base: string, repositories: readonly RepositoryContent[]): Promise<void> {
  for (const repo of repositories) {
    for (const tag of [repo.tags[0]!, repo.tags.at(-1)!]) {
      const manifest = await expect(200, `${base}/v2/${repo.name}/manifests/${tag.tag}`, { headers: { Accept: MEDIA.manifest } });
      if (sha256(manifest.body) !== tag.digest) throw new Error(`${base}: ${repo.name}:${tag.tag} answered a manifest other than ${tag.digest}`);
      const parsed = JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
      for (const d of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) {
        const blob = await send(`${base}/v2/${repo.name}/blobs/${d}`);
        if (blob.status !== 200 || sha256(blob.body) !== d) throw new Error(`${base}: ${repo.name} answered ${blob.status} or other bytes for blob ${d}`);
      }
    }
  }
}

/** Every repository name the registry's `_catalog` lists, following `Link` pages of `n`. @throws Error unless each page is 200 */
export async function catalogNames(base: string, n: number): Promise<string[]> {
  const names: string[] = [];
  let next: string | undefined = `/v2/_catalog?n=${n}`;
  while (next) {
    const answer = await expect(200, `${base}${next}`);
    names.push(...(JSON.parse(answer.body.toString('utf8')) as { repositories: string[] }).repositories);
    next = /<([^>]+)>;\s*rel="next"/.exec(String(answer.headers.link ?? ''))?.[1];
  }
  return names;
}
