/**
 * How long another client's manifest GETs wait while large manifests are pushed: the outside finding
 * "three 3.7 MB manifests with 25,000 copies of one layer descriptor each stalled every other client's
 * GETs for 4-5 s".
 *   npm run build && node bench/manifest-stall.mjs [descriptors, default 25000] [dist folder, default ./dist]
 * Starts `wharf serve` (filesystem storage in a temporary folder) from the dist folder, pushes one
 * config and one layer, tags a small image, then a client GETs that small manifest back to back while
 * three PUTs of a manifest holding `descriptors` copies of the layer descriptor run at once. Prints the
 * GET latencies (ms) before and during the PUTs and the PUTs' statuses. The folder is removed at the end.
 */
/* global Buffer, console, fetch, performance */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort, OCI, sha256 } from './script-support.mjs';

const copies = Number(process.argv[2] ?? 25_000);
const dist = resolve(process.argv[3] ?? 'dist');


async function pushBlob(base, bytes) {
  const digest = sha256(bytes);
  const res = await fetch(`${base}/v2/stall/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: bytes, headers: { 'Content-Type': 'application/octet-stream' } });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: bytes.length };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(label, values) {
  const round = (v) => Math.round(v * 10) / 10;
  console.log(`${label}: ${values.length} GETs, median ${round(percentile(values, 50))} ms, p99 ${round(percentile(values, 99))} ms, max ${round(Math.max(...values))} ms`);
}

const dir = await mkdtemp(join(tmpdir(), 'wharf-stall-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, [join(dist, 'src/main.js'), 'serve'], {
  env: { ...process.env, WHARF_LOG_LEVEL: 'warn', WHARF_HTTP_ADDR: `127.0.0.1:${port}`, WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: dir },
  stdio: ['ignore', 'inherit', 'inherit'],
});
try {
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/v2/`).catch(() => undefined))?.status === 200) break;
    if (i > 300) throw new Error('wharf did not start');
    await delay(50);
  }
  const config = { ...(await pushBlob(base, Buffer.from('{"architecture":"amd64","os":"linux"}'))), mediaType: 'application/vnd.oci.image.config.v1+json' };
  const layer = await pushBlob(base, Buffer.from('a layer'));
  const small = JSON.stringify({ schemaVersion: 2, mediaType: OCI, config, layers: [layer] });
  const tagged = await fetch(`${base}/v2/stall/app/manifests/small`, { method: 'PUT', body: small, headers: { 'Content-Type': OCI } });
  if (tagged.status !== 201) throw new Error(`small manifest: ${tagged.status}`);
  const big = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, config, layers: Array.from({ length: copies }, () => layer) }));

  const getLoop = async (until) => {
    const latencies = [];
    while (!until()) {
      const start = performance.now();
      const res = await fetch(`${base}/v2/stall/app/manifests/small`, { headers: { Accept: OCI } });
      await res.arrayBuffer();
      latencies.push(performance.now() - start);
    }
    return latencies;
  };
  const idleEnd = performance.now() + 1000;
  summary('idle', await getLoop(() => performance.now() > idleEnd));

  let done = false;
  const puts = Promise.all(
    [1, 2, 3].map(async (i) => {
      const start = performance.now();
      const res = await fetch(`${base}/v2/stall/app/manifests/big${i}`, { method: 'PUT', body: big, headers: { 'Content-Type': OCI } });
      const text = await res.text();
      return `${res.status}${res.status === 201 ? '' : ` ${JSON.parse(text).errors?.[0]?.code}`} in ${Math.round(performance.now() - start)} ms`;
    }),
  ).finally(() => (done = true));
  const during = await getLoop(() => done);
  console.log(`three PUTs of ${copies} descriptors (${(big.length / 1e6).toFixed(1)} MB each): ${(await puts).join(', ')}`);
  summary('during the PUTs', during);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
