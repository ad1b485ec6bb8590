/**
 * `npm run bench -- --only client`: the `wharf` client against Debian's skopeo, side by side in one
 * run (A B A B rounds), between two local Wharf registries: `copy` of an image of 5 x 50 MiB layers
 * and of one 1 GiB layer, and `pull` of each to an OCI layout (`skopeo copy ... oci:`). Each run
 * copies into a fresh repository whose blobs were removed from the destination's storage, so every
 * byte moves. Wall time of the whole command, the client's CPU time and peak RSS (GNU time), and the
 * CPU time each copy cost the two registries (/proc/<pid>/stat before and after): on 2 cores the three
 * processes share the machine, so a copy's wall time follows their sum, which load hardly bends.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { copyImage } from '../src/client/image/copy.js';
import { layoutSource } from '../src/client/image/layout.js';
import { registrySink } from '../src/client/image/registry.js';
import { RegistryClient } from '../src/client/registry-client.js';
import { parseImageReference } from '../src/oci/image-reference.js';
import { blobDigest, blobStream } from './data.js';
import { cpuSeconds, installed, startWharf, type ServerUnderTest } from './servers.js';
import { formatSummary, ratio, summarize } from './stats.js';
import { filesystemStorage } from './storage.js';

const MiB = 1024 * 1024;

/** An image of the bench, written as an OCI layout and pushed to the source registry. */
interface BenchImage {
  name: string;
  layers: number[];
  blobs: string[];
}

/** One row of the client table. */
interface Row {
  key: string;
  label: string;
  unit: 's' | 'MiB';
  /** wharf/skopeo at most, or wharf's own value at most */
  target?: { ratioAtMost: number } | { atMost: number };
}

const ROWS: Row[] = [
  { key: 'copy-five', label: 'copy, 5 x 50 MiB layers', unit: 's', target: { ratioAtMost: 0.8 } },
  { key: 'copy-big', label: 'copy, one 1 GiB layer', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'pull-five', label: 'pull to an OCI layout, 5 x 50 MiB layers', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'pull-big', label: 'pull to an OCI layout, one 1 GiB layer', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'cpu-copy-five', label: 'client CPU time (user + system), copy of 5 x 50 MiB', unit: 's' },
  { key: 'cpu-copy-big', label: 'client CPU time, copy of the 1 GiB layer', unit: 's' },
  { key: 'cpu-pull-five', label: 'client CPU time, pull of 5 x 50 MiB', unit: 's' },
  { key: 'cpu-pull-big', label: 'client CPU time, pull of the 1 GiB layer', unit: 's' },
  { key: 'src-copy-five', label: 'source registry CPU time (blob GETs), copy of 5 x 50 MiB', unit: 's' },
  { key: 'dst-copy-five', label: 'destination registry CPU time (uploads), copy of 5 x 50 MiB', unit: 's' },
  { key: 'all-copy-five', label: 'CPU time of client + both registries, copy of 5 x 50 MiB', unit: 's' },
  { key: 'all-copy-big', label: 'CPU time of client + both registries, copy of the 1 GiB layer', unit: 's' },
  { key: 'rss-copy-big', label: 'client peak RSS, copy of the 1 GiB layer', unit: 'MiB', target: { atMost: 150 } },
  { key: 'rss-pull-big', label: 'client peak RSS, pull of the 1 GiB layer', unit: 'MiB' },
];

type Tool = 'wharf' | 'skopeo';

/** Writes an OCI layout of `layers` (sizes in bytes) and pushes it as `<name>:1` to `server`. */
async function seed(work: string, server: ServerUnderTest, name: string, layers: number[]): Promise<BenchImage> {
  const dir = join(work, `layout-${name}`);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const descriptors = [];
  for (const [i, size] of layers.entries()) {
    const seedName = `${name}-${i}`;
    const digest = blobDigest(seedName, size);
    await pipeline(blobStream(seedName, size), createWriteStream(join(dir, 'blobs', 'sha256', digest.slice(7))));
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
  }
  const put = async (mediaType: string, bytes: Buffer) => {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const config = await put('application/vnd.oci.image.config.v1+json', Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: descriptors.map((d) => d.digest) } })));
  const manifest = await put('application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: descriptors })));
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
  const client = new RegistryClient();
  try {
    await copyImage(layoutSource(dir), registrySink(client, parseImageReference(`${server.host}/bench/${name}:1`)));
  } finally {
    await client.close();
  }
  await rm(dir, { recursive: true, force: true });
  return { name, layers, blobs: [...descriptors.map((d) => d.digest), config.digest] };
}

/**
 * Runs a command to completion under GNU time (`/usr/bin/time`, Debian package time), which reports
 * the child's own CPU time and peak RSS: CPU time is the client's cost that the machine's load does not
 * inflate, unlike wall time.
 * @returns wall seconds, CPU seconds (user + system) and peak RSS in MiB
 */
async function timed(work: string, command: string, args: string[]): Promise<{ seconds: number; cpu: number; peakMiB: number }> {
  const report = join(work, `time-${process.hrtime.bigint()}.txt`);
  const start = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', report, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  const seconds = (performance.now() - start) / 1000;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${code}): ${stderr.slice(-500)}`);
  const [user, system, maxKiB] = (await readFile(report, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number) as [number, number, number];
  await rm(report, { force: true });
  return { seconds, cpu: user + system, peakMiB: maxKiB / 1024 };
}

/** The CPU seconds (user + system) the two registries have used so far. @throws Error when either is gone */
async function registriesCpu(source: ServerUnderTest, dest: ServerUnderTest): Promise<{ source: number; dest: number }> {
  const [s, d] = [await cpuSeconds(source.pid), await cpuSeconds(dest.pid)];
  if (s === undefined || d === undefined) throw new Error('a registry of the client bench exited');
  return { source: s, dest: d };
}

/**
 * Runs the client bench and returns its Markdown section.
 * @param rounds A B A B rounds
 */
export async function clientBench(repoRoot: string, work: string, rounds: number, log: (s: string) => void): Promise<string> {
  if (!installed('skopeo') || !installed('/usr/bin/time')) return '## wharf client vs skopeo\n\nskopeo or GNU time is not installed (apt-get install skopeo time): not measured.\n';
  const storage = filesystemStorage();
  const source = await startWharf(repoRoot, join(work, 'client-src'), storage);
  const dest = await startWharf(repoRoot, join(work, 'client-dst'), storage);
  const samples = new Map<string, Record<Tool, number[]>>();
  const add = (key: string, tool: Tool, v: number) => {
    const entry = samples.get(key) ?? { wharf: [], skopeo: [] };
    entry[tool].push(v);
    samples.set(key, entry);
  };
  const wharfMain = join(repoRoot, 'dist/src/main.js');
  try {
    log('client bench: seeding 5 x 50 MiB and 1 x 1 GiB images');
    const images = [await seed(work, source, 'five', Array(5).fill(50 * MiB) as number[]), await seed(work, source, 'big', [1024 * MiB])];
    let run = 0;
    for (let round = 1; round <= rounds; round++) {
      for (const image of images) {
        const key = image.name === 'five' ? 'five' : 'big';
        for (const tool of ['wharf', 'skopeo'] as Tool[]) {
          const repo = `copy/${image.name}-${tool}-${++run}`;
          const src = `${source.host}/bench/${image.name}:1`;
          const dst = `${dest.host}/${repo}:1`;
          log(`round ${round}: ${tool} copy ${image.name}`);
          const before = await registriesCpu(source, dest);
          const copied =
            tool === 'wharf'
              ? await timed(work, process.execPath, [wharfMain, 'copy', '-q', src, dst])
              : await timed(work, 'skopeo', ['copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src}`, `docker://${dst}`]);
          add(`copy-${key}`, tool, copied.seconds);
          add(`cpu-copy-${key}`, tool, copied.cpu);
          const after = await registriesCpu(source, dest);
          if (key === 'five') {
            add('src-copy-five', tool, after.source - before.source);
            add('dst-copy-five', tool, after.dest - before.dest);
          }
          add(`all-copy-${key}`, tool, copied.cpu + after.source - before.source + after.dest - before.dest);
          if (key === 'big') add('rss-copy-big', tool, copied.peakMiB);
          for (const digest of image.blobs) await dest.removeBlob(digest);
          await dest.removeRepository(repo);

          const out = join(work, `pull-${tool}-${run}`);
          log(`round ${round}: ${tool} pull ${image.name}`);
          const pulled =
            tool === 'wharf'
              ? await timed(work, process.execPath, [wharfMain, 'pull', '-q', src, out])
              : await timed(work, 'skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${src}`, `oci:${out}:1`]);
          add(`pull-${key}`, tool, pulled.seconds);
          add(`cpu-pull-${key}`, tool, pulled.cpu);
          if (key === 'big') add('rss-pull-big', tool, pulled.peakMiB);
          await rm(out, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await source.stop();
    await dest.stop();
  }
  return table(samples, rounds);
}

function table(samples: Map<string, Record<Tool, number[]>>, rounds: number): string {
  const skopeoVersion = execFileSync('skopeo', ['--version']).toString().trim();
  const lines = [
    '## wharf client vs skopeo',
    '',
    `${rounds} rounds, alternating wharf and skopeo (${skopeoVersion}); two Wharf registries on filesystem storage on loopback; wall time of the whole command (process start included); the client's CPU time and peak RSS from GNU time; the registries' CPU time per copy from /proc (both tools talk to the same two registries).`,
    '',
    '| metric | unit | wharf median (min..max) | skopeo median (min..max) | wharf/skopeo | target | holds |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const row of ROWS) {
    const s = samples.get(row.key);
    if (!s) continue;
    const w = summarize(s.wharf);
    const k = summarize(s.skopeo);
    const r = ratio(w, k);
    const target = row.target ? ('atMost' in row.target ? `≤ ${row.target.atMost} ${row.unit}` : `≤ ${row.target.ratioAtMost}x`) : '';
    const holds = !row.target ? '' : 'atMost' in row.target ? (w ? (w.median <= row.target.atMost ? 'yes' : 'no') : 'n/a') : r === undefined ? 'n/a' : r <= row.target.ratioAtMost ? 'yes' : 'no';
    lines.push(`| ${row.label} | ${row.unit} | ${formatSummary(w)} | ${formatSummary(k)} | ${r === undefined ? 'n/a' : `${r.toFixed(2)}x`} | ${target} | ${holds} |`);
  }
  return `${lines.join('\n')}\n`;
}
