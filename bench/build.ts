/**
 * `npm run bench -- --only build`: `wharf build` (with its push) against `DOCKER_BUILDKIT=0 docker
 * build` + `docker push`, both into the same Wharf, for an image of a busybox base plus a model file
 * of random (incompressible, like weights) bytes and a small app: the first build, then a rebuild
 * after the app changed. Each round gives each tool a model of its own (new bytes, so neither the
 * registry nor Docker's layer cache has it) and alternates which tool goes first. The Dockerfile is
 * Docker's best case: the model is copied before the app, so Docker's rebuild reuses the model's
 * layer from its cache and its push skips it.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatNumber, formatSummary, summarize } from './stats.js';

const exec = promisify(execFile);
const MiB = 1024 * 1024;

/** Options of the build bench. */
export interface BuildBenchOptions {
  /** Wharf's `host:port` */
  registry: string;
  rounds: number;
  modelMib: number;
  work: string;
  repoRoot: string;
  log: (message: string) => void;
}

/** Samples in seconds per metric and tool. */
export type BuildSamples = Record<'first' | 'rebuild', { wharf: number[]; docker: number[] }>;

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 * MiB });
  return stdout;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Imports Debian's static busybox as a base image and pushes it to `registry` as `bench/busybox:1`. */
async function pushBase(registry: string, work: string): Promise<string> {
  const root = join(work, 'busybox-rootfs');
  await mkdir(join(root, 'bin'), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
  const { stdout } = await exec('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox')) await symlink('busybox', join(root, 'bin', applet));
  const tarFile = join(work, 'busybox.tar');
  await exec('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', tarFile, '.']);
  const base = `${registry}/bench/busybox:1`;
  await docker('import', '--change', 'CMD ["/bin/sh"]', tarFile, base);
  await docker('push', '-q', base);
  return base;
}

async function writeModel(file: string, mib: number): Promise<void> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < mib; i++) await handle.write(randomFillSync(chunk));
  await handle.close();
}

async function writeContext(dir: string, base: string, modelMib: number): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeModel(join(dir, 'model.bin'), modelMib);
  await writeFile(join(dir, 'app.py'), 'print("v1")\n');
  await writeFile(join(dir, 'Dockerfile'), `FROM ${base}\nCOPY model.bin /models/\nWORKDIR /app\nCOPY app.py .\nCMD ["/bin/sh", "-c", "cat /app/app.py"]\n`);
}

/** Runs the rounds; returns the samples. */
export async function buildBench(o: BuildBenchOptions): Promise<BuildSamples> {
  const samples: BuildSamples = { first: { wharf: [], docker: [] }, rebuild: { wharf: [], docker: [] } };
  await mkdir(o.work, { recursive: true });
  const base = await pushBase(o.registry, o.work);
  const wharfMain = join(o.repoRoot, 'dist/src/main.js');
  const cache = join(o.work, 'wharf-cache');
  const tools = {
    wharf: async (ctx: string, ref: string) => {
      await exec(process.execPath, [wharfMain, 'build', '-q', '-t', ref, ctx], { env: { ...process.env, WHARF_CACHE_DIR: cache }, maxBuffer: 16 * MiB });
    },
    docker: async (ctx: string, ref: string) => {
      await docker('build', '--network', 'none', '-q', '-t', ref, ctx);
      await docker('push', '-q', ref);
    },
  };
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? (['wharf', 'docker'] as const) : (['docker', 'wharf'] as const);
      for (const tool of order) {
        const ctx = join(o.work, `ctx-${tool}`);
        await writeContext(ctx, base, o.modelMib);
        const ref = `${o.registry}/bench/build-${tool}-${round}:1`;
        o.log(`round ${round}: ${tool} first build`);
        samples.first[tool].push(await timed(() => tools[tool](ctx, ref)));
        await writeFile(join(ctx, 'app.py'), `print("v2 of round ${round}")\n`);
        o.log(`round ${round}: ${tool} rebuild after the app changed`);
        samples.rebuild[tool].push(await timed(() => tools[tool](ctx, `${o.registry}/bench/build-${tool}-${round}:2`)));
        if (tool === 'docker') await docker('rmi', ref, `${o.registry}/bench/build-${tool}-${round}:2`).catch(() => undefined);
      }
      await rm(cache, { recursive: true, force: true });
    }
  } finally {
    await docker('rmi', base).catch(() => undefined);
    for (const name of await readdir(o.work).catch(() => [])) if (name.startsWith('ctx-')) await rm(join(o.work, name), { recursive: true, force: true });
  }
  return samples;
}

/** The Markdown table of the build bench, with issue 14's targets (0.5x first, 0.2x rebuild). */
export function buildTable(samples: BuildSamples, modelMib: number): string {
  const rows = [
    ['first', `first build + push (busybox + ${modelMib} MiB model + app)`, 0.5],
    ['rebuild', 'rebuild + push after the app changed', 0.2],
  ] as const;
  const lines = ['| metric | unit | wharf build median (min..max) | docker build + push median (min..max) | wharf/docker | target | holds |', '|---|---|---|---|---|---|---|'];
  for (const [key, label, target] of rows) {
    const w = summarize(samples[key].wharf);
    const d = summarize(samples[key].docker);
    const r = w && d && d.median > 0 ? w.median / d.median : undefined;
    lines.push(`| ${label} | s | ${formatSummary(w)} | ${formatSummary(d)} | ${r === undefined ? 'n/a' : `${formatNumber(r)}x`} | ≤ ${target}x | ${r === undefined ? '' : r <= target ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}
