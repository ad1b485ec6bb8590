/**
 * Instructions per manifest GET with metrics and notifications off and on (issue 16's "< 5 %" bound),
 * counted by valgrind's callgrind, which the machine's load does not bend (wall-clock and CPU-time
 * figures swung by a factor of two between rounds on the shared bench machine).
 *   npm run build && node bench/manifest-callgrind.mjs [GETs measured, default 2000] [rounds, default 1] [dist, default ./dist] [parts]
 * (parts: `metrics,notifications` also measures a server with each alone; CALLGRIND_KEEP=<dir> keeps the dumps there.)
 * For each round, off then on: starts `wharf serve` under `valgrind --tool=callgrind` (filesystem
 * storage in a temporary folder, `info` logs to a file as in `npm run bench`; "on" adds
 * `http.debug.prometheus` and one signed notification endpoint, a receiver in this process that
 * answers 202), pushes a small image, warms up with 1,000 GETs by tag (and waits until their events
 * are delivered), counts the idle server for 5 s (timers, the event-loop lag histogram: the share of
 * the GETs' window that is not theirs, which grows with the machine's load), then zeroes the counters
 * (`callgrind_control -z`), sends the measured GETs over 4 kept-alive connections, waits until the
 * receiver has every event (on) and a further second (both: the delivery of the last events is
 * counted), dumps (`callgrind_control -d`) and reads the instruction total of that dump, less the
 * idle rate times the window. Prints instructions per GET for each server and the ratio on/off. Every thread of the server is counted
 * (libuv's pool, V8's GC threads) but V8's optimizing compiler's (TurboFan, 60-70 % of the window's instructions in both servers:
 * work per function and deoptimization, not per request, which a window of a few thousand GETs under valgrind does not amortize);
 * the figures with it are printed beside.
 */
/* global Buffer, console, fetch */
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort, OCI, sha256 } from './script-support.mjs';

const measured = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 1);
const dist = resolve(process.argv[4] ?? 'dist');
/** `metrics` and/or `notifications` (comma-separated): also measure each alone (to tell their shares apart) */
const parts = (process.argv[5] ?? '').split(',').filter(Boolean);
const WARM_UP = 1000;
const CONNECTIONS = 4;
/** How long the idle server is counted (ms). */
const IDLE_MS = 5000;
const run = promisify(execFile);


/** A receiver that counts the events of each envelope and answers 202. */
async function startReceiver() {
  let events = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      events += JSON.parse(Buffer.concat(chunks).toString('utf8')).events.length;
      res.statusCode = 202;
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/events`, events: () => events, close: () => new Promise((r) => server.close(r)) };
}

async function pushImage(base) {
  const blob = async (bytes) => {
    const digest = sha256(bytes);
    const res = await fetch(`${base}/v2/bench/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
    return { digest, size: bytes.length };
  };
  const config = await blob(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
  const layer = await blob(Buffer.alloc(1024, 1));
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] });
  const res = await fetch(`${base}/v2/bench/app/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': OCI } });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
}

/** `count` manifest GETs by tag over {@link CONNECTIONS} kept-alive connections. */
async function gets(port, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let left = count;
  const one = () =>
    new Promise((resolveGet, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v2/bench/app/manifests/v1', agent, headers: { Accept: OCI } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolveGet() : reject(new Error(`GET: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (left > 0) {
        left -= 1;
        await one();
      }
    }),
  );
  agent.destroy();
}

/**
 * Instructions (Ir) of the callgrind dumps in `dir` (`<prefix>.<pid>.<dump>`: the exit's own file is left out), which are then
 * removed, or moved to `$CALLGRIND_KEEP/<keep>.<name>` when that is set (to read them with callgrind_annotate).
 */
async function instructions(dir, prefix, keep) {
  let total = 0;
  let compile = 0;
  for (const name of (await readdir(dir)).filter((n) => n.startsWith(`${prefix}.`) && /\.\d+\.\d+$/.test(n))) {
    const text = await readFile(join(dir, name), 'utf8');
    const summary = text.match(/^summary:\s+(\d+)/m) ?? text.match(/^totals:\s+(\d+)/m);
    if (summary) total += Number(summary[1]);
    compile += await compileInstructions(join(dir, name));
    if (keep && process.env.CALLGRIND_KEEP) await rename(join(dir, name), join(process.env.CALLGRIND_KEEP, `${keep}.${name}`));
    else await rm(join(dir, name));
  }
  return { total, compile };
}

/**
 * Instructions of a dump spent by V8's optimizing compiler (TurboFan) on its background threads
 * (`OptimizingCompileDispatcher::CompileTask`, inclusive): 60-70 % of a dump's instructions in the
 * window of a few thousand GETs under callgrind, off and on alike, and work done once per function
 * (or per deoptimization), not per request; the per-GET figures are given without it, and with it.
 */
async function compileInstructions(file) {
  const { stdout } = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { maxBuffer: 64 * 1024 * 1024 });
  const line = stdout.split('\n').find((l) => l.includes('OptimizingCompileDispatcher::CompileTask::RunInternal'));
  return line ? Number(line.trim().split(/\s+/)[0].replace(/,/g, '')) : 0;
}

/** @param mode 'off', 'on' (metrics and notifications), 'metrics' or 'notifications' (one of them only) */
async function measure(mode, receiver) {
  const metered = mode === 'on' || mode === 'metrics';
  const observed = mode === 'on' || mode === 'notifications';
  const dir = await mkdtemp(join(tmpdir(), 'wharf-callgrind-'));
  try {
    const port = await freePort();
    const debug = metered ? `  debug:\n    addr: 127.0.0.1:${await freePort()}\n    prometheus:\n      enabled: true\n` : '';
    const notifications = observed ? `notifications:\n  endpoints: [{name: bench, url: "${receiver.url}", secret: "whsec_${Buffer.alloc(32, 7).toString('base64')}"}]\n` : '';
    const config = `version: 0.1\nlog:\n  level: info\nhttp:\n  addr: 127.0.0.1:${port}\n${debug}storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'root')}\n  delete:\n    enabled: true\n${notifications}`;
    await writeFile(join(dir, 'config.yml'), config);
    const out = join(dir, 'callgrind.out');
    const log = openSync(join(dir, 'server.log'), 'a');
    const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}.%p`, '--separate-threads=no', process.execPath, join(dist, 'src/main.js'), 'serve', '--config', join(dir, 'config.yml')], { stdio: ['ignore', log, log] });
    const base = `http://127.0.0.1:${port}`;
    for (let t = Date.now(); ; await delay(500)) {
      if (await fetch(`${base}/v2/`).then((r) => r.ok, () => false)) break;
      if (Date.now() - t > 600_000 || child.exitCode !== null) throw new Error(`the server did not start: ${await readFile(join(dir, 'server.log'), 'utf8')}`);
    }
    const eventsAtStart = receiver.events();
    await pushImage(base);
    await gets(port, WARM_UP);
    const deadline = () => Date.now() + 120_000;
    for (const until = deadline(); observed && receiver.events() < eventsAtStart + 3 + WARM_UP && Date.now() < until; ) await delay(200);
    await delay(1000);
    // what the idle server costs per second (timers, the event-loop lag histogram), taken off the GETs' window
    await run('callgrind_control', ['-z', String(child.pid)]);
    let started = Date.now();
    await delay(IDLE_MS);
    await run('callgrind_control', ['-d', String(child.pid)]);
    const idle = await instructions(dir, 'callgrind.out');
    const idleMs = Date.now() - started;
    const eventsBefore = receiver.events();
    await run('callgrind_control', ['-z', String(child.pid)]);
    started = Date.now();
    await gets(port, measured);
    for (const until = deadline(); observed && receiver.events() < eventsBefore + measured && Date.now() < until; ) await delay(200);
    const delivered = receiver.events() - eventsBefore;
    await delay(1000);
    await run('callgrind_control', ['-d', String(child.pid)]);
    const counted = await instructions(dir, 'callgrind.out', mode);
    const window = (Date.now() - started) / idleMs;
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    return {
      perGet: (counted.total - counted.compile - (idle.total - idle.compile) * window) / measured,
      withCompile: (counted.total - idle.total * window) / measured,
      raw: counted.total / measured,
      compileShare: counted.compile / counted.total,
      delivered,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const receiver = await startReceiver();
const ratios = [];
for (let round = 1; round <= rounds; round++) {
  const off = await measure('off', receiver);
  for (const part of parts) {
    const one = await measure(part, receiver);
    console.log(`round ${round}: ${part} only ${Math.round(one.perGet)} instructions/GET, ${part}/off ${(one.perGet / off.perGet).toFixed(3)} (with the compiler's: ${(one.withCompile / off.withCompile).toFixed(3)})`);
  }
  const on = await measure('on', receiver);
  ratios.push(on.perGet / off.perGet);
  console.log(
    `round ${round}: off ${Math.round(off.perGet)} instructions/GET without the optimizing compiler's threads (${Math.round(off.withCompile)} with them, ${Math.round(off.raw)} before the idle server's share; compiler ${(off.compileShare * 100).toFixed(0)} % of the dump), ` +
      `on ${Math.round(on.perGet)} (${Math.round(on.withCompile)}, ${Math.round(on.raw)}; compiler ${(on.compileShare * 100).toFixed(0)} %; ${on.delivered} of ${measured} events delivered in the window), ` +
      `on/off ${(on.perGet / off.perGet).toFixed(3)} (with the compiler's: ${(on.withCompile / off.withCompile).toFixed(3)})`,
  );
}
console.log(`on/off per manifest GET: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
await receiver.close();
