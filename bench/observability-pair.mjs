/**
 * The server CPU per manifest GET of two Wharf configurations measured at the same time, for a
 * machine whose load moves: run one after the other, the same server's CPU per GET swung from 85 to
 * 145 µs between runs minutes apart (other processes on the 2 cores); run side by side, both see the
 * same machine, and the ratio of a pair held within a few per cent.
 *   npm run build && npx tsc -p tsconfig.bench.json && node bench/observability-pair.mjs <modeA> <modeB> [rate, default 1250; 0: as fast as each answers] [GETs per round, default 12500] [rounds, default 3] [distA, default ./dist] [distB, default distA]
 * `PAIR_NODE_ARGS` (not `WHARF_...`: Wharf reads those as configuration) adds node arguments to both servers (e.g. `--trace-gc`, or `--cpu-prof
 * --cpu-prof-dir=/tmp/prof`: a server writes its profile when it exits); with `--trace-gc` each
 * round's line also gives each server's scavenges and mark-compacts per 10,000 GETs and the ms of
 * their pauses, counted from its log. The servers run with the node flags and environment of dist/src/main.js's start lines (`exec env ... node`), as
 * `npm run bench` starts them.
 * modes: `off` (neither), `metrics` (http.debug.prometheus), `notifications` (one signed endpoint),
 * `on` (both), `quiet` (both, the endpoint ignoring pulls: what metrics and notifications cost when
 * a GET makes no event). Starts both servers (`wharf serve` from each dist folder, filesystem storage
 * in a temporary folder, `info` logs to a file as in `npm run bench`), one receiver in this process
 * that answers 202, pushes a small image to each, warms each with 4,000 GETs by tag, then per round
 * drives both at once (each started first every other round), each at `rate` GETs per second (autocannon `overallRate`, 8 connections unless `PAIR_CONNECTIONS`), and
 * reads each server's CPU (/proc/<pid>/stat) before and 1.5 s after (the delivery's linger, so a
 * round's events are counted to it). Prints a JSON line with each server's pid (a profile's name has it), then one per round: µs per GET of each, and B's
 * extra in per cent. The folders are removed at the end.
 */
/* global Buffer, console, fetch */
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import autocannon from 'autocannon';
import { shebangEnv, shebangNodeFlags } from '../dist/bench/servers.js';
import { freePort, OCI, sha256 } from './script-support.mjs';

const [modeA, modeB] = process.argv.slice(2, 4);
const rate = Number(process.argv[4] ?? 1250);
const amount = Number(process.argv[5] ?? 12500);
const rounds = Number(process.argv[6] ?? 3);
const distA = resolve(process.argv[7] ?? 'dist');
const distB = resolve(process.argv[8] ?? distA);
const MODES = ['off', 'metrics', 'notifications', 'on', 'quiet'];
const extraArgs = (process.env.PAIR_NODE_ARGS ?? '').split(' ').filter(Boolean);
const traceGc = extraArgs.includes('--trace-gc');
const connections = Number(process.env.PAIR_CONNECTIONS ?? 8);

/** Scavenges and mark-compacts in the `--trace-gc` lines of `text`, and the ms of their pauses. */
function gcCounts(text) {
  const counts = { scavenges: 0, scavengeMs: 0, markCompacts: 0, markCompactMs: 0 };
  for (const [, kind, ms] of text.matchAll(/: (Scavenge|Mark-Compact)\b[^,]*, ([\d.]+) \//g)) {
    if (kind === 'Scavenge') {
      counts.scavenges += 1;
      counts.scavengeMs += Number(ms);
    } else {
      counts.markCompacts += 1;
      counts.markCompactMs += Number(ms);
    }
  }
  return counts;
}
if (!MODES.includes(modeA) || !MODES.includes(modeB)) throw new Error(`modes: ${MODES.join(', ')}`);


/** The receiver: drains each envelope and answers 202. */
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.statusCode = 202;
    res.end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}/events`;

/** Starts a server of `mode` from `dist` with a small image pushed; @returns its URL, CPU reader and stop */
async function start(dist, mode, label) {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-pair-'));
  const port = await freePort();
  const debug = mode === 'off' || mode === 'notifications' ? '' : `  debug:\n    addr: 127.0.0.1:${await freePort()}\n    prometheus:\n      enabled: true\n`;
  const ignore = mode === 'quiet' ? ', ignore: {actions: [pull]}' : '';
  const notifications = mode === 'off' || mode === 'metrics' ? '' : `notifications:\n  endpoints: [{name: bench, url: "${receiverUrl}", secret: "whsec_${Buffer.alloc(32, 7).toString('base64')}"${ignore}}]\n`;
  await writeFile(join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: info\nhttp:\n  addr: 127.0.0.1:${port}\n${debug}storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'root')}\n${notifications}`);
  const logFile = join(dir, 'server.log');
  const log = openSync(logFile, 'a');
  const main = join(dist, 'src/main.js');
  const script = readFileSync(main, 'utf8');
  const env = shebangEnv(script);
  const child = spawn(process.execPath, [...shebangNodeFlags(script), ...extraArgs, main, 'serve', '--config', join(dir, 'config.yml')], { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  const base = `http://127.0.0.1:${port}`;
  for (const until = Date.now() + 60_000; !(await fetch(`${base}/v2/`).then((r) => r.ok, () => false)); await delay(100)) {
    if (Date.now() > until || child.exitCode !== null) throw new Error(`the server did not start: ${readFileSync(join(dir, 'server.log'), 'utf8').slice(-2000)}`);
  }
  const blob = async (bytes) => {
    const digest = sha256(bytes);
    const res = await fetch(`${base}/v2/bench/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
    if (res.status !== 201) throw new Error(`blob push: ${res.status}`);
    return { digest, size: bytes.length };
  };
  const config = await blob(Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'));
  const layer = await blob(Buffer.alloc(1024, 1));
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] });
  const put = await fetch(`${base}/v2/bench/app/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': OCI } });
  if (put.status !== 201) throw new Error(`manifest push: ${put.status}`);
  const cpu = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  /** the `--trace-gc` counts since the last call */
  let logRead = 0;
  const gc = () => {
    const text = readFileSync(logFile, 'latin1');
    const counts = gcCounts(text.slice(logRead));
    logRead = text.length;
    return counts;
  };
  const stop = async () => {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    if (process.env.PAIR_LOGS) await copyFile(logFile, join(process.env.PAIR_LOGS, `server-${label}-${mode}.log`));
    await rm(dir, { recursive: true, force: true });
  };
  return { base, pid: child.pid, cpu, gc, stop };
}

/** `count` GETs by tag of `server` over {@link connections} connections, at `perSecond` when given. @throws Error when any failed */
async function load(server, count, perSecond) {
  const result = await autocannon({ url: `${server.base}/v2/bench/app/manifests/v1`, connections, amount: count, headers: { Accept: OCI }, sampleInt: 10, ...(perSecond > 0 ? { overallRate: perSecond } : {}) });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`GET: ${result.errors} errors, ${result.non2xx} answers outside 2xx`);
  return result;
}

const a = await start(distA, modeA, 'A');
const b = await start(distB, modeB, 'B');
console.log(JSON.stringify({ A: { mode: modeA, dist: distA, pid: a.pid }, B: { mode: modeB, dist: distB, pid: b.pid } }));
try {
  await Promise.all([load(a, 4000), load(b, 4000)]);
  await delay(1500);
  for (let round = 1; round <= rounds; round++) {
    a.gc();
    b.gc();
    const [a0, b0] = [a.cpu(), b.cpu()];
    // the load started first is served differently (a same-code pair read 17 to 30 % apart, the second one dearer): each goes first every other round
    const [ra, rb] = round % 2 === 1 ? await Promise.all([load(a, amount, rate), load(b, amount, rate)]) : (await Promise.all([load(b, amount, rate), load(a, amount, rate)])).reverse();
    await delay(1500);
    const usA = ((a.cpu() - a0) * 1e6) / amount;
    const usB = ((b.cpu() - b0) * 1e6) / amount;
    const rps = (r) => Math.round(r.requests.total / r.duration);
    const per10k = (counts) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, +((v * 10_000) / amount).toFixed(2)]));
    const gc = traceGc ? { gcA: per10k(a.gc()), gcB: per10k(b.gc()) } : {};
    console.log(JSON.stringify({ round, first: round % 2 === 1 ? 'A' : 'B', A: modeA, B: modeB, usA: +usA.toFixed(1), usB: +usB.toFixed(1), extraB: `${((usB / usA - 1) * 100).toFixed(1)} %`, rpsA: rps(ra), rpsB: rps(rb), ...gc }));
  }
} finally {
  await a.stop();
  await b.stop();
  receiver.close();
}
