/**
 * Where the time of one pull goes, per request, from the client's side: for the bench's proxy images
 * (bench/proxy.ts), a direct pull from the upstream Distribution and a cold and a warm pull through
 * the caching Wharf, each request's start, answer (status and headers), first and last body byte, in
 * ms since the pull began, with each server's CPU seconds for the pull.
 *   npm run build && tsc -p tsconfig.bench.json && node dist/bench/proxy-phases.js [repeats, default 2]
 * Servers and files live in a temporary folder under .tmp/, removed at the end.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agent } from './http.js';
import { startProxyBench, type ProxyBench } from './proxy.js';
import { cpuSeconds, type ServerUnderTest } from './servers.js';
import { filesystemStorage } from './storage.js';
import { inPool, MANIFEST_ACCEPT } from './workloads.js';

/** One request's timeline, ms since the pull started. */
export interface RequestTimes {
  what: string;
  start: number;
  answer: number;
  first: number;
  last: number;
  bytes: number;
}

/** GETs `url`, timing its answer and body against `t0` (a `performance.now()`). */
function timedGet(url: string, what: string, t0: number, headers: Record<string, string> = {}): Promise<RequestTimes> {
  const start = performance.now() - t0;
  return new Promise((done, fail) => {
    const req = request(url, { agent, headers }, (res) => {
      const answer = performance.now() - t0;
      let first = -1;
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        if (first < 0) first = performance.now() - t0;
        bytes += chunk.length;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) fail(new Error(`${url}: status ${res.statusCode}`));
        else done({ what, start, answer, first, last: performance.now() - t0, bytes });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

/** One pull of `image` from `base` as bench/proxy.ts pulls (manifest, then blobs three at a time), timed per request. */
async function timedPull(server: ServerUnderTest, repository: string, image: ProxyBench['images'][number], upstream?: ServerUnderTest): Promise<{ total: number; cpu: number; client: number; upstream: number; requests: RequestTimes[] }> {
  const cpu0 = (await cpuSeconds(server.pid)) ?? 0;
  const up0 = upstream ? ((await cpuSeconds(upstream.pid)) ?? 0) : 0;
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const requests = [await timedGet(`${server.url}/v2/${repository}/manifests/latest`, 'manifest', t0, { Accept: MANIFEST_ACCEPT })];
  const plan = image.blobs.map((b, i) => ({ digest: b.digest, label: i === 0 ? 'config' : `layer ${i}` }));
  await inPool(plan, 3, async (blob) => {
    requests.push(await timedGet(`${server.url}/v2/${repository}/blobs/${blob.digest}`, blob.label, t0));
  });
  const total = performance.now() - t0;
  const c = process.cpuUsage(client0);
  const up = upstream ? ((await cpuSeconds(upstream.pid)) ?? 0) - up0 : 0;
  return { total, cpu: ((await cpuSeconds(server.pid)) ?? 0) - cpu0, client: (c.user + c.system) / 1e6, upstream: up, requests };
}

function print(label: string, pull: Awaited<ReturnType<typeof timedPull>>, detail = true): void {
  const f = (n: number) => n.toFixed(1).padStart(8);
  process.stdout.write(`${label}: ${pull.total.toFixed(1)} ms, server CPU ${pull.cpu.toFixed(2)} s, client CPU ${pull.client.toFixed(2)} s, upstream CPU ${pull.upstream.toFixed(2)} s\n`);
  if (!detail) return;
  process.stdout.write(`  ${'request'.padEnd(10)}${'start'.padStart(8)}${'answer'.padStart(8)}${'first'.padStart(8)}${'last'.padStart(8)}   MB/s\n`);
  for (const r of pull.requests) {
    const rate = r.bytes > 1e6 ? ((r.bytes / (r.last - r.first)) * 1e-3).toFixed(0) : '';
    process.stdout.write(`  ${r.what.padEnd(10)}${f(r.start)}${f(r.answer)}${f(r.first)}${f(r.last)}   ${rate}\n`);
  }
}

async function main(): Promise<void> {
  const repeats = Number(process.argv[2] ?? 2);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  await mkdir(join(root, '.tmp'), { recursive: true });
  const work = await mkdtemp(join(root, '.tmp', 'phases-'));
  let bench: ProxyBench | undefined;
  try {
    bench = await startProxyBench(root, work, filesystemStorage(), (process.env.PHASE_NODE_ARGS ?? '').split(' ').filter(Boolean), process.env.PHASE_BASELINE);
    const wharf = bench.caches[0]!;
    process.stdout.write(`wharf pid ${wharf.server.pid}, upstream pid ${bench.upstream.pid}, client pid ${process.pid}\n`);
    const detail = process.env.PHASE_DETAIL === '1';
    for (const image of bench.images) {
      for (let i = 0; i < repeats; i++) {
        print(`${image.key} direct`, await timedPull(bench.upstream, image.repository, image), detail);
        for (const cache of i % 2 === 0 ? bench.caches : [...bench.caches].reverse()) {
          const repository = `${cache.prefix}${image.repository}`;
          await cache.server.removeRepository(repository);
          for (const d of [image.manifestDigest, ...image.blobs.map((b) => b.digest)]) await cache.server.removeBlob(d);
          print(`${image.key} cold ${cache.tag || 'this'}`, await timedPull(cache.server, repository, image, bench.upstream), detail);
          print(`${image.key} warm ${cache.tag || 'this'}`, await timedPull(cache.server, repository, image), detail);
        }
      }
    }
  } finally {
    await Promise.all([bench?.upstream, ...(bench?.caches ?? []).map((c) => c.server)].map((s) => s?.stop()));
    await rm(work, { recursive: true, force: true });
  }
}

await main();
