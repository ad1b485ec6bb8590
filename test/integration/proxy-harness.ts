/**
 * The harness of the pull-through cache's integration tests: an upstream (a real Wharf app on
 * memory storage) behind an HTTP front that logs every request and can misbehave on demand (refuse
 * connections, answer a status, cut a blob's body, flip a byte of it), and a caching Wharf whose
 * `proxy` section points at the front. Both on loopback ports; everything is stopped after each test.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach } from 'vitest';
import { createApp } from '../../src/app.js';
import { validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { createHttpServer } from '../../src/server.js';
import { RegistryClient, StaticCredentials, uploadBlob } from '../../src/client/index.js';
import { parseDigest } from '../../src/oci/digest.js';
import { USERS } from './auth-harness.js';
import { TEST_GC_TIMING, type BuiltImage, type Client } from './harness.js';

/** One request the upstream's front saw. */
export interface SeenRequest {
  method: string;
  path: string;
}

/** How the front treats a blob GET of a given digest. */
export interface BlobFault {
  /** cut the body after this many bytes */
  cutAt?: number;
  /** flip the byte at this offset */
  flipAt?: number;
  /** answer ranged GETs (resumes) of the blob with 503 */
  refuseRanges?: boolean;
  /** stop sending after this many bytes until `release` resolves */
  holdAt?: number;
  release?: Promise<void>;
  /** how many responses it applies to (default: all) */
  times?: number;
}

/** An upstream registry behind a misbehaving front. */
export interface TestUpstream {
  /** the front's base URL, what the cache is configured with */
  url: string;
  /** the upstream app itself (to seed it) */
  http: Client;
  /** every request the front received, in order */
  requests: SeenRequest[];
  /** requests with `method` whose path matches `path` */
  count(method: string, path: RegExp): number;
  /** the most requests the front had in flight at once */
  maxInFlight(): number;
  /** faults of blob GETs, by digest */
  faults: Map<string, BlobFault>;
  /** when set, the front answers every request with this status and an empty error body */
  status: number | undefined;
  /** stops the front (connections are refused) */
  stop(): Promise<void>;
  /** starts the front again on the same port */
  start(): Promise<void>;
}

/** Servers and folders to clean after each test. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}

/** A Transform that applies `fault` to a body. */
function faulty(fault: BlobFault, cut: () => void): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      if (fault.holdAt !== undefined && offset + chunk.length > fault.holdAt && fault.release) {
        const release = fault.release;
        const before = chunk.subarray(0, Math.max(0, fault.holdAt - offset));
        this.push(before);
        offset += before.length;
        fault.release = undefined;
        void release.then(() => this._transform(chunk.subarray(before.length), 'binary', cb));
        return;
      }
      let out = chunk;
      if (fault.flipAt !== undefined && fault.flipAt >= offset && fault.flipAt < offset + chunk.length) {
        out = Buffer.from(chunk);
        out[fault.flipAt - offset] = out[fault.flipAt - offset]! ^ 0xff;
      }
      if (fault.cutAt !== undefined && offset + chunk.length > fault.cutAt) {
        this.push(out.subarray(0, Math.max(0, fault.cutAt - offset)));
        offset += chunk.length;
        cut();
        return cb();
      }
      offset += chunk.length;
      cb(null, out);
    },
  });
}

/** Starts an upstream: a Wharf app on memory storage (optionally with `config` extras such as `auth`) behind a front. */
export async function startUpstream(extra: Record<string, unknown> = {}, app = upstreamApp(extra)): Promise<TestUpstream> {
  const appServer = createHttpServer(app.listener, app.config.http);
  const appPort = await listen(appServer);
  const requests: SeenRequest[] = [];
  const faults = new Map<string, BlobFault>();
  let front: Server | undefined;
  let frontPort = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const upstream: TestUpstream = {
    url: '',
    http: supertest(appServer),
    requests,
    count: (method, path) => requests.filter((r) => r.method === method && path.test(r.path)).length,
    maxInFlight: () => maxInFlight,
    faults,
    status: undefined,
    stop: async () => {
      if (front) await close(front);
      front = undefined;
    },
    start: async () => {
      front = createServer((req, res) => forward(req, res));
      frontPort = await listen(front, frontPort);
      upstream.url = `http://127.0.0.1:${frontPort}`;
    },
  };
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '' });
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    res.once('close', () => (inFlight -= 1));
    if (upstream.status !== undefined) {
      req.resume();
      res.writeHead(upstream.status, { 'Content-Type': 'application/json', ...(upstream.status === 429 ? { 'Retry-After': '7' } : {}) });
      res.end(JSON.stringify({ errors: [{ code: upstream.status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'test front' }] }));
      return;
    }
    const blob = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
    if (blob && req.headers.range && faults.get(blob)?.refuseRanges) {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'test front refuses ranges' }] }));
      return;
    }
    const out = request({ host: '127.0.0.1', port: appPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url ?? '')?.[1];
      const fault = digest && req.method === 'GET' && answer.statusCode === 200 ? faults.get(digest) : undefined;
      if (fault && (fault.times === undefined || fault.times > 0)) {
        if (fault.times !== undefined) fault.times -= 1;
        answer.pipe(faulty(fault, () => res.destroy())).pipe(res);
      } else answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  await upstream.start();
  cleanups.push(async () => {
    await upstream.stop();
    await close(appServer);
  });
  return upstream;
}

/** A Wharf app for an upstream: memory storage, silent, plus `extra` configuration sections. */
export function upstreamApp(extra: Record<string, unknown> = {}): { listener: ReturnType<typeof createApp>; config: Config } {
  const config = validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { inmemory: {} }, ...extra });
  return { listener: createApp({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }), gc: TEST_GC_TIMING }), config };
}

/** A caching Wharf under test. */
export interface TestCache {
  url: string;
  http: Client;
  config: Config;
  driver: StorageDriver;
  /** the app's clock offset in ms (tests move it with {@link advance}) */
  advance(ms: number): void;
}

/** Options of {@link startCache}. */
export interface CacheOptions {
  /** `memory` (default) or `filesystem` */
  driver?: 'memory' | 'filesystem';
  /** more configuration sections (`gc`), merged over the defaults */
  extra?: Record<string, unknown>;
  /** bytes of each blob fill kept in memory */
  fillWindowBytes?: number;
  /** `proxy.prefetch` (default off, as the configuration's) */
  prefetch?: boolean;
}

/**
 * Starts a caching Wharf whose `proxy.upstreams` are `upstreams` (each `{name, url, prefix, ...}` as in
 * YAML; the first is the default unless one says otherwise).
 */
export async function startCache(upstreams: Record<string, unknown>[], options: CacheOptions = {}): Promise<TestCache> {
  let root: string | undefined;
  if (options.driver === 'filesystem') {
    root = await mkdtemp(join(tmpdir(), 'wharf-proxy-test-'));
    cleanups.push(() => rm(root!, { recursive: true, force: true }));
  }
  const storage = root ? { filesystem: { rootdirectory: root } } : { inmemory: {} };
  const config = validate({
    log: { level: 'silent' },
    http: { addr: '127.0.0.1:0' },
    storage,
    proxy: { upstreams, negativettl: '2s', prefetch: options.prefetch ?? false },
    ...options.extra,
  });
  const driver = root ? new FilesystemDriver(root) : new MemoryDriver();
  let offset = 0;
  const listener = createApp({
    config,
    storage: driver,
    logger: pino({ level: 'silent' }),
    gc: TEST_GC_TIMING,
    now: () => new Date(Date.now() + offset),
    proxy: { fillWindowBytes: options.fillWindowBytes },
  });
  const server = createHttpServer(listener, config.http);
  const port = await listen(server);
  cleanups.push(() => close(server));
  return { url: `http://127.0.0.1:${port}`, http: supertest(server), config, driver, advance: (ms) => void (offset += ms) };
}

/**
 * GETs `path` from the cache; resolves with the body's sha256 and length, or the error that ended it.
 * `pause`: once `at` bytes arrived, stops reading until `during` settles (a client that stalls).
 */
export function pull(
  cache: TestCache,
  path: string,
  options: { abortAfter?: number; onFirstByte?: () => void; pause?: { at: number; during: () => Promise<unknown> } } = {},
): Promise<{ digest: string; bytes: number; error?: string }> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const req = request(`${cache.url}${path}`, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (bytes === 0) options.onFirstByte?.();
        hash.update(chunk);
        bytes += chunk.length;
        if (options.abortAfter !== undefined && bytes >= options.abortAfter) req.destroy();
        const pause = options.pause;
        if (pause && bytes >= pause.at) {
          options.pause = undefined;
          res.pause();
          void pause.during().finally(() => res.resume());
        }
      });
      res.on('end', () => resolve({ digest: `sha256:${hash.digest('hex')}`, bytes }));
      res.on('error', (err) => resolve({ digest: '', bytes, error: err.message }));
      res.on('aborted', () => resolve({ digest: '', bytes, error: 'aborted' }));
    });
    req.on('error', (err) => resolve({ digest: '', bytes, error: err.message }));
    req.end();
  });
}

/**
 * True when a HEAD of `path` is answered from the cache (`Cache-Status: Wharf; hit`). A pull's
 * response ends once its bytes verified; the commit to storage follows, so tests that need the blob
 * stored wait for this.
 */
export async function isCached(cache: TestCache, path: string): Promise<boolean> {
  return (await cache.http.head(path)).headers['cache-status'] === 'Wharf; hit';
}

/** Pushes `image` to `repository` of the registry at `url` as `user`, through the registry client. */
export async function pushAs(url: string, user: keyof typeof USERS, repository: string, tag: string, image: BuiltImage): Promise<void> {
  const host = new URL(url).host;
  const client = new RegistryClient({ credentials: new StaticCredentials({ [host]: { username: user, password: USERS[user] } }) });
  const repo = { registry: host, repository };
  for (const blob of [image.config, ...image.layers]) {
    await uploadBlob(client, repo, { mediaType: 'application/octet-stream', digest: parseDigest(blob.digest).digest, size: blob.size }, async (offset, length) => Readable.from([blob.bytes.subarray(offset, offset + length)]));
  }
  await client.putManifest(repo, tag, image.body, image.mediaType);
  await client.close();
}
