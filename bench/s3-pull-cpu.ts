/**
 * Where a blob pull from S3 spends its CPU: Wharf and CNCF Distribution on one Ceph RGW (as
 * `npm run bench -- --s3` runs them), each pull measured as wall time and CPU-seconds per GiB of every
 * process on the byte path (the registry, radosgw, the OSD, the client: this process), and the same
 * objects read straight from RGW (presigned GETs read into one 1 MiB buffer, so the client costs
 * little): one GET, and ranged GETs of `--part-mib` MiB with `--streams` in flight. The modes take turns
 * (A B C ... each round) so a load on the machine bends them alike.
 *
 * `node dist/bench/s3-pull-cpu.js [--blob-mib 256] [--rounds 3] [--fanout 16] [--fanout-mib 32]
 * [--direct 1x0,2x16,4x8] [--only <regular expression of the modes' names>]` (after `npm run bench` built it, or `npx tsc -p tsconfig.bench.json`); a
 * `--direct` entry is `<streams>x<part MiB>` (`1x0`: one GET of the whole object), `o<streams>x<part MiB>`
 * the same read in order (the ranges after the first wait, unread, in the store's buffers).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { blobDigest } from './data.js';
import { agent } from './http.js';
import { cpuSeconds, startDistribution, startWharf, type ServerUnderTest } from './servers.js';
import { s3Storage } from './storage.js';
import { pullBlob, pushBlob } from './workloads.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const REPO_ROOT = resolve(import.meta.dirname, '../..');

/** The pids of the daemons whose command line names `dir` (the RGW cluster's folder), by command name. */
async function daemonsUnder(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes(dir)) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (['radosgw', 'ceph-osd', 'ceph-mon'].includes(comm)) found.set(comm, Number(entry));
  }
  return found;
}

/**
 * GETs `url` (optionally bytes `[start, end]`) over a plain connection, reading into one 1 MiB buffer;
 * with `gate`, the socket is not read (the store's sends wait in its buffers) until `gate` resolves.
 * @returns the body bytes
 */
function rawGet(url: URL, range?: [number, number], gate?: Promise<unknown>): Promise<number> {
  const buffer = Buffer.allocUnsafe(MiB);
  return new Promise((done, fail) => {
    let head = '';
    let body = -1;
    let length = 0;
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: {
        buffer,
        callback: (n) => {
          if (body < 0) {
            head += buffer.toString('latin1', 0, n);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) return true;
            length = Number(/content-length: *(\d+)/i.exec(head.slice(0, end))?.[1] ?? -1);
            if (!/^HTTP\/1\.1 20[06]/.test(head)) fail(new Error(head.slice(0, 200)));
            body = head.length - end - 4;
          } else body += n;
          if (body >= length) socket.destroy();
          return true;
        },
      },
    });
    if (gate) {
      socket.pause();
      void gate.then(() => socket.resume());
    }
    socket.on('error', fail);
    socket.on('close', () => (body === length ? done(body) : fail(new Error(`got ${body} of ${length} bytes`))));
    const rangeLine = range ? `Range: bytes=${range[0]}-${range[1]}\r\n` : '';
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${rangeLine}Connection: close\r\n\r\n`);
  });
}

/** GETs `url` with node:http as the bench's client did before bench/pull-client.ts (a 64 KiB chunk per socket read). */
function httpGet(url: URL): Promise<void> {
  return new Promise((done, fail) => {
    request(url, { agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', done);
      res.on('error', fail);
    })
      .on('error', fail)
      .end();
  });
}

/**
 * Reads all `size` bytes of the object at `presign()`'s URLs: one GET (`streams` 1, `partBytes` 0), or
 * ranged GETs of `partBytes` with `streams` in flight; `ordered`: in flight but read one after the other
 * (as a relay sending in order would: the ranges after the first wait in the store's buffers).
 */
async function directRead(presign: () => Promise<URL>, size: number, streams: number, partBytes: number, ordered: boolean): Promise<void> {
  if (partBytes === 0) {
    await rawGet(await presign());
    return;
  }
  if (ordered) {
    const reads: Promise<number>[] = [];
    for (let start = 0, i = 0; start < size; start += partBytes, i++) {
      if (i >= streams) await reads[i - streams];
      reads.push(rawGet(await presign(), [start, Math.min(size, start + partBytes) - 1], reads[i - 1]));
    }
    await Promise.all(reads);
    return;
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: streams }, async () => {
      while (next < size) {
        const start = next;
        next += partBytes;
        await rawGet(await presign(), [start, Math.min(size, start + partBytes) - 1]);
      }
    }),
  );
}

/** One measured run: wall seconds and CPU-seconds per process. */
interface Sample {
  seconds: number;
  cpu: Record<string, number>;
}

async function measure(pids: Record<string, number>, work: () => Promise<unknown>): Promise<Sample> {
  const before: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) before[name] = (await cpuSeconds(pid)) ?? 0;
  const self = process.cpuUsage();
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(self);
  const cpu: Record<string, number> = { client: (used.user + used.system) / 1e6 };
  for (const [name, pid] of Object.entries(pids)) cpu[name] = ((await cpuSeconds(pid)) ?? 0) - before[name]!;
  return { seconds, cpu };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'blob-mib': { type: 'string', default: '256' },
      rounds: { type: 'string', default: '3' },
      fanout: { type: 'string', default: '16' },
      'fanout-mib': { type: 'string', default: '32' },
      direct: { type: 'string', default: '1x0,2x16,4x8' },
      'wharf-node-args': { type: 'string', default: '' },
      only: { type: 'string', default: '' },
    },
  });
  const size = Number(values['blob-mib']) * MiB;
  const fanoutSize = Number(values['fanout-mib']) * MiB;
  const fanout = Number(values.fanout);
  const direct = values.direct
    .split(',')
    .filter(Boolean)
    .map((d) => ({ ordered: d.startsWith('o'), streams: Number(d.replace(/^o/, '').split('x')[0]), partMib: Number(d.split('x')[1]) }));
  const work = await mkdtemp(join(tmpdir(), 'wharf-s3-pull-cpu-'));
  const log = (line: string): void => void process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const storage = await s3Storage(work);
  const servers: ServerUnderTest[] = [];
  try {
    const s3 = storage.s3!;
    const daemons = await daemonsUnder(work);
    log(`RGW ${s3.endpoint}, daemons ${[...daemons].map(([n, p]) => `${n} ${p}`).join(', ')}`);
    servers.push(await startWharf(REPO_ROOT, join(work, 'wharf'), storage, values['wharf-node-args'].split(' ').filter(Boolean)));
    servers.push(await startDistribution(join(work, 'distribution'), storage));
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
    const objects: Record<string, { bucket: string; key: string }> = {};
    const blobs: Record<string, { digest: string; fanoutDigest: string }> = {};
    for (const server of servers) {
      const seed = `${server.kind[0]}-pull`;
      const digest = blobDigest(seed, size);
      const fanoutDigest = blobDigest(`${server.kind[0]}-fan`, fanoutSize);
      log(`pushing ${size / MiB} MiB (chunked, 8 MiB) and ${fanoutSize / MiB} MiB to ${server.kind}`);
      await pushBlob(server.url, 'bench/push', 'chunked', seed, size, digest, 8 * MiB);
      await pushBlob(server.url, 'bench/fanout', 'monolithic', `${server.kind[0]}-fan`, fanoutSize, fanoutDigest, 8 * MiB);
      blobs[server.kind] = { digest, fanoutDigest };
      const hex = digest.slice('sha256:'.length);
      if (server.kind === 'wharf') {
        const pointer = await client.send(new HeadObjectCommand({ Bucket: 'wharf-bench', Key: `blobs/sha256/${hex.slice(0, 2)}/${hex}` }));
        objects.wharf = { bucket: 'wharf-bench', key: pointer.Metadata!['wharf-object']! };
      } else objects.distribution = { bucket: 'distribution-bench', key: `docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data` };
    }
    const presigner = (object: { bucket: string; key: string }) => async () =>
      new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: object.bucket, Key: object.key }), { expiresIn: 300 }));
    const modes: Array<{ name: string; registry?: ServerUnderTest; bytes: number; run: () => Promise<unknown> }> = [];
    for (const server of servers) {
      const blob = blobs[server.kind]!;
      const url = new URL(`${server.url}/v2/bench/push/blobs/${blob.digest}`);
      const fanoutUrl = new URL(`${server.url}/v2/bench/fanout/blobs/${blob.fanoutDigest}`);
      const many = (get: () => Promise<unknown>) => () => Promise.all(Array.from({ length: fanout }, get));
      modes.push(
        { name: `${server.kind} pull, bench client`, registry: server, bytes: size, run: () => pullBlob(server.url, 'bench/push', blob.digest, size) },
        { name: `${server.kind} pull, node:http`, registry: server, bytes: size, run: () => httpGet(url) },
        { name: `${server.kind} pull, curl`, registry: server, bytes: size, run: () => run('curl', ['-sf', '-o', '/dev/null', url.href]) },
        { name: `${server.kind} ${fanout} pulls, bench client`, registry: server, bytes: fanout * fanoutSize, run: () => pullBlob(server.url, 'bench/fanout', blob.fanoutDigest, fanoutSize, fanout) },
        { name: `${server.kind} ${fanout} pulls, node:http`, registry: server, bytes: fanout * fanoutSize, run: many(() => httpGet(fanoutUrl)) },
      );
    }
    for (const { ordered, streams, partMib } of direct) {
      for (const kind of ['wharf', 'distribution']) {
        const label = partMib === 0 ? 'one GET' : `${streams} x ${partMib} MiB ranges${ordered ? ', read in order' : ''}`;
        modes.push({ name: `RGW direct, ${kind}'s object, ${label}`, bytes: size, run: () => directRead(presigner(objects[kind]!), size, streams, partMib * MiB, ordered) });
      }
    }
    const only = new RegExp(values.only);
    modes.splice(0, modes.length, ...modes.filter((m) => only.test(m.name)));
    const samples = new Map<string, Sample[]>();
    const rounds = Number(values.rounds);
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? modes : [...modes].reverse();
      for (const mode of order) {
        const pids: Record<string, number> = { radosgw: daemons.get('radosgw')!, osd: daemons.get('ceph-osd')! };
        if (mode.registry) pids.registry = mode.registry.pid;
        const sample = await measure(pids, mode.run);
        const perGiB = (s: number): string => ((s * GiB) / mode.bytes).toFixed(2);
        log(
          `round ${round} ${mode.name}: ${(mode.bytes / MiB / sample.seconds).toFixed(1)} MiB/s, CPU s/GiB ` +
            Object.entries(sample.cpu)
              .map(([n, s]) => `${n} ${perGiB(s)}`)
              .join(', '),
        );
        samples.set(mode.name, [...(samples.get(mode.name) ?? []), { seconds: sample.seconds, cpu: Object.fromEntries(Object.entries(sample.cpu).map(([n, s]) => [n, (s * GiB) / mode.bytes])) }]);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const modeBytes = new Map(modes.map((m) => [m.name, m.bytes]));
    const lines = ['| mode | MiB/s (each round) | registry | radosgw | OSD | client | total CPU s/GiB (median) |', '|---|---|---:|---:|---:|---:|---:|'];
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [name, list] of samples) {
      const rates = list.map((s) => (modeBytes.get(name)! / MiB / s.seconds).toFixed(1)).join(' / ');
      const col = (n: string): string => (list[0]!.cpu[n] === undefined ? '' : median(list.map((s) => s.cpu[n]!)).toFixed(2));
      const total = median(list.map((s) => Object.values(s.cpu).reduce((a, b) => a + b, 0))).toFixed(2);
      lines.push(`| ${name} | ${rates} | ${col('registry')} | ${col('radosgw')} | ${col('osd')} | ${col('client')} | ${total} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    client.destroy();
  } finally {
    agent.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    await storage.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
