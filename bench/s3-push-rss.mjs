/**
 * Peak RSS of `wharf serve` on S3 during 1 GiB pushes, measured with `/usr/bin/time -v` (Debian's
 * `time` package) around the server alone; s3rver runs in a process of its own.
 *   npm run build && node bench/s3-push-rss.mjs [MiB, default 1024]
 * Runs two servers in turn, one per push: a streamed PATCH of the whole blob, then chunked 8 MiB
 * PATCHes (committed by concatenating the parts). Prints one line per push with its timings and the
 * server's peak RSS. Blob bytes are generated on the fly; the store's directory is removed at the end.
 */
/* global Buffer, console, fetch, setTimeout */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const total = Number(process.argv[2] ?? 1024) * MiB;
const CHUNK = 8 * MiB;

/** Deterministic bytes [offset, offset + length) of blob `seed`: an 8 MiB random block with the offset stamped in. */
const block = createHash('sha512').update('wharf').digest();
function bytesAt(seed, offset, length) {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 64) block.copy(out, i, 0, Math.min(64, length - i));
  for (let i = 0; i + 16 <= length; i += 4096) {
    out.writeUInt32BE(seed, i);
    out.writeDoubleBE(offset + i, i + 4);
  }
  return out;
}

function digestOf(seed) {
  const hash = createHash('sha256');
  for (let off = 0; off < total; off += CHUNK) hash.update(bytesAt(seed, off, Math.min(CHUNK, total - off)));
  return `sha256:${hash.digest('hex')}`;
}

async function waitFor(url) {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

/** PATCH with a streamed body of `length` bytes of blob `seed` from `offset` (Content-Range when `ranged`). */
function patch(url, seed, offset, length, ranged) {
  return new Promise((resolve, reject) => {
    const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': length };
    if (ranged) headers['Content-Range'] = `${offset}-${offset + length - 1}`;
    const req = request(url, { method: 'PATCH', headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 202 ? resolve(res.headers.location) : reject(new Error(`PATCH ${res.statusCode}`))));
    });
    req.on('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < length) {
        const n = Math.min(MiB, length - sent);
        const ok = req.write(bytesAt(seed, offset + sent, n));
        sent += n;
        if (!ok) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

async function push(name, seed, chunked, env) {
  const port = 5000 + Math.floor(Math.random() * 20000);
  const timeFile = join(env.dir, `${name}.time`);
  const server = spawn('/usr/bin/time', ['-v', '-o', timeFile, join(ROOT, 'dist/src/main.js'), 'serve'], {
    env: { ...env.wharf, WHARF_HTTP_ADDR: `127.0.0.1:${port}`, WHARF_STORAGE_S3_ROOTDIRECTORY: name },
    stdio: 'inherit',
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/v2/`);
  const digest = digestOf(seed);
  const started = Date.now();
  const post = await fetch(`${base}/v2/bench/${name}/blobs/uploads/`, { method: 'POST' });
  let location = post.headers.get('location');
  if (chunked) {
    for (let off = 0; off < total; off += CHUNK) location = await patch(base + location, seed, off, Math.min(CHUNK, total - off), true);
  } else {
    location = await patch(base + location, seed, 0, total, false);
  }
  const patched = Date.now();
  const put = await fetch(`${base}${location}${location.includes('?') ? '&' : '?'}digest=${digest}`, { method: 'PUT' });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
  const committed = Date.now();
  const head = await fetch(`${base}/v2/bench/${name}/blobs/${digest}`, { method: 'HEAD' });
  if (Number(head.headers.get('content-length')) !== total) throw new Error(`HEAD ${head.status}`);
  // stop the server itself: /usr/bin/time then writes its report and exits
  const child = (await readFile(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8')).trim().split(/\s+/)[0];
  process.kill(Number(child), 'SIGTERM');
  await once(server, 'exit');
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(await readFile(timeFile, 'utf8'))?.[1];
  console.log(
    `${name}: ${total / MiB} MiB, PATCH ${((patched - started) / 1000).toFixed(1)} s, commit ${((committed - patched) / 1000).toFixed(1)} s, wharf peak RSS ${(Number(rss) / 1024).toFixed(0)} MiB`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-'));
const s3rver = spawn(process.execPath, ['--openssl-legacy-provider', join(ROOT, 'test/support/s3rver-server.mjs'), join(dir, 's3'), 'bench'], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [line] = await once(createInterface({ input: s3rver.stdout }), 'line');
  const { port } = JSON.parse(line);
  const wharf = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_'))),
    WHARF_LOG_LEVEL: 'warn',
    WHARF_STORAGE_S3_BUCKET: 'bench',
    WHARF_STORAGE_S3_ENDPOINT: `http://127.0.0.1:${port}`,
    WHARF_STORAGE_S3_FORCEPATHSTYLE: 'true',
    WHARF_STORAGE_S3_ACCESSKEY: 'S3RVER',
    WHARF_STORAGE_S3_SECRETKEY: 'S3RVER',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  await push('streamed', 1, false, { dir, wharf });
  await push('chunked', 2, true, { dir, wharf });
} finally {
  s3rver.kill('SIGTERM');
  await once(s3rver, 'exit').catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}
