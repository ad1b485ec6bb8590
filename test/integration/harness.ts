/**
 * The shared harness of the integration tests: every suite runs once per storage driver (memory,
 * and filesystem on a fresh temporary directory), against an app built by `createApp` and served on
 * a loopback port, with supertest as the client. Helpers push blobs, images and indexes the way a
 * client does, and check the spec's error bodies.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect } from 'vitest';
import { createApp } from '../../src/app.js';
import { adminIndexOf } from '../../src/registry/admin-index/admin-index-of.js';
import { validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { createHttpServer } from '../../src/server.js';

/** The storage drivers every suite runs against. */
export const DRIVERS = ['inmemory', 'filesystem'] as const;

/** One of {@link DRIVERS}. */
export type DriverName = (typeof DRIVERS)[number];

/** The supertest client of one running app. */
export type Client = ReturnType<typeof supertest>;

/** A supertest response. */
export type Response = supertest.Response;

/** Options of a registry made by {@link MakeRegistry}. */
export interface RegistryOptions {
  /** `storage.delete.enabled` (default true) */
  deleteEnabled?: boolean;
  /** the app's logger (default a silent pino logger) */
  logger?: Logger;
  /** `http.idletimeout` as a duration string (default the configuration's) */
  idleTimeout?: string;
  /** the `gc` configuration section, as in YAML (default none) */
  gc?: Record<string, unknown>;
  /** more keys of the `http` section, as in YAML (e.g. `{minbodyrate: 1000}`) */
  http?: Record<string, unknown>;
  /** the `admin` configuration section, as in YAML (default none) */
  admin?: Record<string, unknown>;
}

/** Garbage collection timing of test apps: a short lease settle and guard poll (one process, so no race needs the default waits). */
export const TEST_GC_TIMING = { lease: { settleMs: 10 }, guard: { pollMs: 5 } };

/** A running registry under test: the app on a loopback port, its storage and a client for it. */
export interface TestRegistry {
  driverName: DriverName;
  driver: StorageDriver;
  config: Config;
  server: Server;
  /** the base URL, `http://127.0.0.1:<port>` */
  url: string;
  /** supertest bound to this registry's server */
  http: Client;
  /**
   * Simulates a restart: stops this app and starts a new app over a NEW driver on the same storage
   * (the filesystem driver on the same directory; the memory driver's content is process memory,
   * so its new app shares the same driver instance). Nothing of the old app's in-process state survives.
   */
  restart(): Promise<TestRegistry>;
}

/** Builds a registry for the current test; it is stopped (and its directory removed) after the test. */
export type MakeRegistry = (options?: RegistryOptions) => Promise<TestRegistry>;

/** Builds a validated configuration for `driver` (with its root directory for the filesystem driver). */
export function testConfig(driver: DriverName, root: string | undefined, options: RegistryOptions = {}): Config {
  const storage = driver === 'filesystem' ? { filesystem: { rootdirectory: root } } : { inmemory: {} };
  return validate({
    log: { level: 'silent' },
    http: { addr: '127.0.0.1:0', ...(options.idleTimeout ? { idletimeout: options.idleTimeout } : {}), ...options.http },
    storage: { ...storage, delete: { enabled: options.deleteEnabled ?? true } },
    ...(options.gc ? { gc: options.gc } : {}),
    ...(options.admin ? { admin: options.admin } : {}),
  });
}

/** Every storage driver an app of this worker was built on: their admin indexes are stopped after each test. */
const drivers = new Set<StorageDriver>();

/** Stops the admin index of every driver used so far (its journal written), so nothing writes into a folder being removed. */
export async function stopIndexes(): Promise<void> {
  await Promise.all([...drivers].map((d) => adminIndexOf(d).stop()));
  drivers.clear();
}

async function start(driverName: DriverName, driver: StorageDriver, config: Config, running: Set<Server>, logger: Logger): Promise<TestRegistry> {
  drivers.add(driver);
  const app = createApp({ config, storage: driver, logger, gc: TEST_GC_TIMING });
  const server = createHttpServer(app, config.http);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  running.add(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    driverName,
    driver,
    config,
    server,
    url,
    http: supertest(server),
    restart: async () => {
      await stop(server, running);
      await adminIndexOf(driver).stop(); // as a graceful stop of `wharf serve` does: its journal written
      const next = driver instanceof FilesystemDriver ? new FilesystemDriver(driver.root) : driver;
      return start(driverName, next, config, running, logger);
    },
  };
}

async function stop(server: Server, running: Set<Server>): Promise<void> {
  running.delete(server);
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
}

/**
 * Declares the suite `body` once per storage driver (`describe('<driver> driver', ...)`); `body`
 * gets a {@link MakeRegistry} that builds a fresh registry for the test that calls it. Servers are
 * stopped and temporary directories removed after each test.
 */
export function forEachDriver(body: (make: MakeRegistry, driverName: DriverName) => void): void {
  describe.each(DRIVERS)('%s driver', (driverName) => {
    const running = new Set<Server>();
    const directories: string[] = [];
    afterEach(async () => {
      await Promise.all([...running].map((s) => stop(s, running)));
      await stopIndexes();
      await Promise.all(directories.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    });
    const make: MakeRegistry = async (options = {}) => {
      let root: string | undefined;
      if (driverName === 'filesystem') {
        root = await mkdtemp(join(tmpdir(), 'wharf-it-'));
        directories.push(root);
      }
      const config = testConfig(driverName, root, options);
      const driver = root === undefined ? new MemoryDriver() : new FilesystemDriver(root);
      return start(driverName, driver, config, running, options.logger ?? pino({ level: 'silent' }));
    };
    body(make, driverName);
  });
}

/** The sha256 digest (`sha256:<hex>`) of `bytes`. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The sha512 digest (`sha512:<hex>`) of `bytes`. */
export function sha512(bytes: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
}

/** `size` random bytes. */
export function randomBlob(size = 64): Buffer {
  return randomBytes(size);
}

/** A syntactically valid sha256 digest of random content (a blob no registry has). */
export function randomDigest(): string {
  return sha256(randomBytes(16));
}

/** A log line captured by {@link capturingLogger}. */
export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A pino logger (level `info`, or `debug` where a test looks for a debug line) that keeps every line in `lines` instead of writing it out. */
export function capturingLogger(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

/** A superagent parser that keeps the response body as raw bytes (a Buffer), whatever its type. */
export function binaryParser(res: IncomingMessage, callback: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => callback(null, Buffer.concat(chunks)));
  res.on('error', (err) => callback(err, Buffer.alloc(0)));
}

/** Sends `test` and returns the response with its body as raw bytes. */
export async function raw(test: supertest.Test): Promise<Response & { body: Buffer }> {
  const parser = binaryParser as unknown as Parameters<supertest.Test['parse']>[0];
  return (await test.buffer(true).parse(parser)) as Response & { body: Buffer };
}

/**
 * Sends `chunks` to `url` with chunked transfer encoding (no Content-Length), as a streaming client
 * does, with `Content-Type: contentType`.
 * @returns the status, headers and body bytes of the response
 */
export function sendChunked(
  url: string,
  method: string,
  chunks: Buffer[],
  contentType = 'application/octet-stream',
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { 'Content-Type': contentType, 'Transfer-Encoding': 'chunked' } });
    req.on('error', reject);
    req.on('response', (res) => {
      binaryParser(res, (err, body) => (err ? reject(err) : resolve({ status: res.statusCode!, headers: res.headers, body })));
    });
    for (const c of chunks) req.write(c);
    req.end();
  });
}

/** The media type of a `Content-Type` header, without parameters. */
export function mediaType(res: Response): string | undefined {
  return res.headers['content-type']?.split(';')[0]?.trim();
}

/** What a blob push returned. */
export interface PushedBlob {
  digest: string;
  size: number;
  bytes: Buffer;
}

/**
 * Pushes `bytes` to repository `name` monolithically (POST for a session, then PUT `?digest=` with
 * the whole body), asserting the spec's 202 and 201 answers.
 */
export async function pushBlob(http: Client, name: string, bytes: Buffer = randomBlob()): Promise<PushedBlob> {
  const digest = sha256(bytes);
  const started = await http.post(`/v2/${name}/blobs/uploads/`);
  expect(started.status).toBe(202);
  const location = started.headers.location as string;
  const done = await http.put(`${location}?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes);
  expect(done.status, done.text).toBe(201);
  expect(done.headers['docker-content-digest']).toBe(digest);
  return { digest, size: bytes.length, bytes };
}

/** An OCI descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, string>;
}

/** The media types the tests push. */
export const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** The OCI empty descriptor's content, `{}`, and its well-known digest. */
export const EMPTY_JSON = Buffer.from('{}');
/** The digest of {@link EMPTY_JSON} (image-spec "Guidance for an Empty Descriptor"). */
export const EMPTY_JSON_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

/** Encodes a manifest with unusual (but valid) formatting, so byte-for-byte storage is observable. */
export function encodeManifest(manifest: object): Buffer {
  return Buffer.from(`${JSON.stringify(manifest, null, 3)}\n`);
}

/** Options of {@link buildImage} and {@link pushImage}. */
export interface ImageOptions {
  /** the manifest media type (default OCI image manifest) */
  mediaType?: string;
  /** number of random layers (default 2) */
  layers?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  subject?: Descriptor;
  /** use the OCI empty config `{}` instead of a random config */
  emptyConfig?: boolean;
}

/** An image manifest with its blobs (not yet pushed). */
export interface BuiltImage {
  mediaType: string;
  body: Buffer;
  digest: string;
  config: PushedBlob;
  layers: PushedBlob[];
  descriptor: Descriptor;
}

/** Builds an image manifest of `options.layers` random layers and a random (or empty) config. */
export function buildImage(options: ImageOptions = {}): BuiltImage {
  const mt = options.mediaType ?? MEDIA.ociManifest;
  const docker = mt === MEDIA.dockerManifest;
  const configBytes = options.emptyConfig ? EMPTY_JSON : Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const config = { digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const layers = Array.from({ length: options.layers ?? 2 }, () => {
    const bytes = randomBlob(32 + Math.floor(Math.random() * 64));
    return { digest: sha256(bytes), size: bytes.length, bytes };
  });
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: mt,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: {
      mediaType: options.emptyConfig ? MEDIA.ociEmpty : docker ? MEDIA.dockerConfig : MEDIA.ociConfig,
      digest: config.digest,
      size: config.size,
    },
    layers: layers.map((l) => ({ mediaType: docker ? MEDIA.dockerLayer : MEDIA.ociLayer, digest: l.digest, size: l.size })),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const body = encodeManifest(manifest);
  const digest = sha256(body);
  return { mediaType: mt, body, digest, config, layers, descriptor: { mediaType: mt, digest, size: body.length } };
}

/**
 * PUTs a manifest body under `reference` with `contentType` (default: the body's own mediaType).
 * @returns the raw response (no status asserted)
 */
export function putManifest(http: Client, name: string, reference: string, body: Buffer, contentType?: string): supertest.Test {
  const req = http.put(`/v2/${name}/manifests/${reference}`);
  const type = contentType ?? (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType;
  if (type) req.set('Content-Type', type);
  return sendBytes(req, body);
}

/**
 * Sends `bytes` as the request body exactly as given (superagent would otherwise JSON-encode a
 * Buffer sent with a `+json` Content-Type).
 */
export function sendBytes(test: supertest.Test, bytes: Buffer | string): supertest.Test {
  return test.serialize((b: unknown) => b as string).send(bytes);
}

/**
 * Pushes an image's blobs (config and layers), then its manifest under `reference` (a tag or a
 * digest; default its digest), asserting 201 and the digest header.
 */
export async function pushImage(http: Client, name: string, reference?: string, options: ImageOptions = {}): Promise<BuiltImage> {
  const image = buildImage(options);
  for (const blob of [image.config, ...image.layers]) await pushBlob(http, name, blob.bytes);
  const res = await putManifest(http, name, reference ?? image.digest, image.body);
  expect(res.status, res.text).toBe(201);
  expect(res.headers['docker-content-digest']).toBe(image.digest);
  return image;
}

/** An image index (not yet pushed). */
export interface BuiltIndex {
  mediaType: string;
  body: Buffer;
  digest: string;
  descriptor: Descriptor;
}

/** Builds an image index (or Docker manifest list) over `children`. */
export function buildIndex(children: Descriptor[], options: { mediaType?: string; artifactType?: string; annotations?: Record<string, string>; subject?: Descriptor } = {}): BuiltIndex {
  const mt = options.mediaType ?? MEDIA.ociIndex;
  const archs = ['amd64', 'arm64', 'riscv64', 's390x', 'ppc64le'];
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: mt,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    manifests: children.map((c, i) => ({ ...c, platform: { architecture: archs[i % archs.length]!, os: 'linux' } })),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const body = encodeManifest(manifest);
  const digest = sha256(body);
  return { mediaType: mt, body, digest, descriptor: { mediaType: mt, digest, size: body.length } };
}

/** Pushes `count` images by digest, then an index over them under `reference`; asserts 201. */
export async function pushIndex(http: Client, name: string, reference: string, count = 2, mediaType: string = MEDIA.ociIndex): Promise<{ index: BuiltIndex; children: BuiltImage[] }> {
  const childType = mediaType === MEDIA.dockerList ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const children: BuiltImage[] = [];
  for (let i = 0; i < count; i++) children.push(await pushImage(http, name, undefined, { mediaType: childType, layers: 1 }));
  const index = buildIndex(
    children.map((c) => c.descriptor),
    { mediaType },
  );
  const res = await putManifest(http, name, reference, index.body);
  expect(res.status, res.text).toBe(201);
  expect(res.headers['docker-content-digest']).toBe(index.digest);
  return { index, children };
}

/**
 * Asserts that `res` is the spec's error: `status`, `Content-Type: application/json` and a body of
 * exactly `{"errors":[{"code","message","detail"}]}` with `code` (HEAD responses have no body).
 * @returns the error's message
 */
export function expectError(res: Response, status: number, code: string): string {
  expect({ status: res.status, type: mediaType(res) }).toEqual({ status, type: 'application/json' });
  if (res.request.method === 'HEAD') {
    expect(res.text ?? '').toBe('');
    return '';
  }
  const body = (Buffer.isBuffer(res.body) ? JSON.parse(res.body.toString('utf8')) : res.body) as { errors: Record<string, unknown>[] };
  expect(Object.keys(body)).toEqual(['errors']);
  expect(body.errors).toHaveLength(1);
  const [error] = body.errors;
  expect(Object.keys(error!).sort()).toEqual(['code', 'detail', 'message']);
  expect(error!.code).toBe(code);
  expect(typeof error!.message).toBe('string');
  expect((error!.message as string).length).toBeGreaterThan(0);
  return error!.message as string;
}

/** Polls `check` until it returns true, failing after `timeoutMs` (tests never sleep a fixed time). */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends raw bytes over a new TCP connection and resolves with everything the server sent until it closed. */
export function rawExchange(url: string, request: string | Buffer, endAfterWrite = true): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.write(request);
    if (endAfterWrite) socket.end();
  });
}
