/**
 * The GC stress scenario: several clients push images that share layers over real HTTP (pushes
 * that skip an upload because HEAD says the blob exists, pushes that mount from another repository,
 * plain uploads), delete some of their older tags, while a second storage view (as another process
 * would have) runs garbage collection in a loop with a grace period of 0 and untagged manifests
 * deleted (images of two shared layers, consecutive pushes of a client sharing one, so pushes skip
 * uploads by HEAD and mount across repositories). A push that a run breaks must fail cleanly (a spec error the client retries on); every
 * image whose push succeeded must pull completely, every digest verifying: just before its client
 * deletes its tag, and at the end (also after one more collection once the clients stopped). Used at small size by `npm test` and at length by
 * `npm run stress:gc`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { validate } from '../../src/config/load.js';
import { collectGarbage, type GcReport } from '../../src/gc/collector.js';
import { GcBusyError } from '../../src/gc/lease.js';
import { createHttpServer } from '../../src/server.js';
import type { StorageDriver } from '../../src/storage/driver.js';

/** Size of a stress run. */
export interface StressOptions {
  /** the server's storage */
  storage: StorageDriver;
  /** the collector's view of the same storage (a second driver instance on the same directory, as another process) */
  collectorStorage: StorageDriver;
  /** concurrent pushing clients */
  clients: number;
  /**
   * How much the clients push: `{ pushes: n }` images each, push k of a client starting only once
   * the collector has finished k runs, so runs interleave with the pushes however fast the machine
   * is (the collector runs until the clients are done); or `{ durationMs }` of pushing (a soak).
   */
  size: { pushes: number } | { durationMs: number };
}

/** What a stress run survived. */
export interface StressResult {
  pushesSucceeded: number;
  /** pushes a collection broke, which failed cleanly (and were retried) */
  pushesFailedCleanly: number;
  /** blobs a push skipped because HEAD answered 200 */
  headSkips: number;
  mounts: number;
  uploads: number;
  tagsDeleted: number;
  gcRuns: number;
  manifestsCollected: number;
  blobsCollected: number;
  /** pulls of a successfully pushed image that verified whole (before its tag was deleted, and at the end) */
  tagsVerified: number;
}

interface Blob {
  digest: string;
  bytes: Buffer;
}

interface Pushed {
  repo: string;
  tag: string;
  digest: string;
  blobs: Blob[];
}

/** A clean failure a collection may cause: the client starts the push over. */
class RetryPush extends Error {}

const REPOS = ['stress/r0', 'stress/r1', 'stress/r2'];
/** Tags each client keeps; older ones it verifies and deletes, so shared layers keep falling out of use and runs have garbage. */
const KEEP_TAGS = 1;
/** Layers the images share (each image takes two): more than the kept images reference, so many are candidates at any time. */
const SHARED_LAYERS = 12;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function blobOf(bytes: Buffer): Blob {
  return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes };
}

async function errorCode(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { errors: { code: string }[] }).errors[0]!.code;
  } catch {
    return `HTTP ${res.status}: ${text.slice(0, 200)}`;
  }
}

/** Runs the scenario; throws when a successful push does not pull back whole, or a push fails other than cleanly. */
export async function runGcStress(options: StressOptions): Promise<StressResult> {
  const config = validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { inmemory: {} }, gc: { grace: '0s', deleteuntagged: true } });
  const app = createApp({ config, storage: options.storage, logger: pino({ level: 'silent' }), gc: { guard: { pollMs: 5 } } });
  const server: Server = createHttpServer(app, config.http);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const result: StressResult = {
    pushesSucceeded: 0,
    pushesFailedCleanly: 0,
    headSkips: 0,
    mounts: 0,
    uploads: 0,
    tagsDeleted: 0,
    gcRuns: 0,
    manifestsCollected: 0,
    blobsCollected: 0,
    tagsVerified: 0,
  };
  const shared = Array.from({ length: SHARED_LAYERS }, () => blobOf(randomBytes(1024 + Math.floor(Math.random() * 16 * 1024))));
  const alive = new Map<string, Pushed>();
  const deadline = 'durationMs' in options.size ? Date.now() + options.size.durationMs : Infinity;
  const pushes = 'pushes' in options.size ? options.size.pushes : Infinity;
  let clientsDone = 0;
  /** set when a client or the collector failed: the others stop */
  let failed = false;
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
  /** clients waiting in runsDone */
  let waiting = 0;
  /** resolves once the collector has finished `runs` runs (at once in a timed run) */
  const runsDone = async (runs: number): Promise<void> => {
    waiting += 1;
    while (result.gcRuns < runs && 'pushes' in options.size && !failed) await tick();
    waiting -= 1;
  };
  /**
   * In a counted run, the collector runs again only once a push ended (stored or failed cleanly)
   * since its last run, or every client waits for it: runs stay interleaved with the pushes without
   * starving them (a run every few ms sweeps every push's fresh layers before its manifest comes).
   */
  const pushesEnded = () => result.pushesSucceeded + result.pushesFailedCleanly;
  const pushesMoved = async (since: number): Promise<void> => {
    while ('pushes' in options.size && !failed && pushesEnded() === since && waiting < options.clients - clientsDone) await tick();
  };

  const pushBlob = async (repo: string, blob: Blob): Promise<void> => {
    const head = await fetch(`${base}/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD' });
    if (head.status === 200) {
      result.headSkips += 1;
      return;
    }
    if (head.status !== 404) throw new Error(`HEAD ${repo}@${blob.digest}: ${head.status}`);
    let start: Response;
    // as docker does, mount from a repository where this client saw the blob pushed
    const from = [...alive.values()].find((p) => p.repo !== repo && p.blobs.some((b) => b.digest === blob.digest))?.repo;
    if (from) {
      start = await fetch(`${base}/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`, { method: 'POST' });
      if (start.status === 201) {
        result.mounts += 1;
        return;
      }
    } else {
      start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    }
    if (start.status !== 202) throw new Error(`POST upload ${repo}: ${start.status} ${await errorCode(start)}`);
    const put = await fetch(`${base}${start.headers.get('location')!}?digest=${blob.digest}`, {
      method: 'PUT',
      body: blob.bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (put.status === 201) {
      result.uploads += 1;
      return;
    }
    const code = await errorCode(put);
    if (code === 'BLOB_UPLOAD_INVALID') throw new RetryPush(code);
    throw new Error(`PUT blob ${repo}@${blob.digest}: ${put.status} ${code}`);
  };

  /** Push `n` of client `id`: two shared layers, one of them in the client's push before, and a unique one. */
  const pushImage = async (repo: string, tag: string, id: number, n: number): Promise<Pushed> => {
    const picks = [shared[(n + 5 * id) % SHARED_LAYERS]!, shared[(n + 1 + 5 * id) % SHARED_LAYERS]!];
    const unique = blobOf(randomBytes(512 + Math.floor(Math.random() * 4096)));
    const config = blobOf(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') })));
    const layers = [...picks, unique];
    for (;;) {
      try {
        await Promise.all([config, ...layers].map((blob) => pushBlob(repo, blob)));
        const body = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.bytes.length },
            layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.bytes.length })),
          }),
        );
        const put = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body, headers: { 'Content-Type': OCI_MANIFEST } });
        if (put.status === 201) return { repo, tag, digest: put.headers.get('docker-content-digest')!, blobs: [config, ...layers] };
        const code = await errorCode(put);
        if (code !== 'MANIFEST_BLOB_UNKNOWN') throw new Error(`PUT manifest ${repo}:${tag}: ${put.status} ${code}`);
        throw new RetryPush(code);
      } catch (err) {
        if (!(err instanceof RetryPush)) throw err;
        result.pushesFailedCleanly += 1;
      }
    }
  };

  /** Pulls a pushed image whole (manifest by tag, every blob), checking every digest. */
  const verifyImage = async (pushed: Pushed): Promise<void> => {
    const manifest = await fetch(`${base}/v2/${pushed.repo}/manifests/${pushed.tag}`, { headers: { Accept: OCI_MANIFEST } });
    if (manifest.status !== 200) throw new Error(`pull ${pushed.repo}:${pushed.tag}: ${manifest.status} ${await errorCode(manifest)}`);
    const body = Buffer.from(await manifest.arrayBuffer());
    if (blobOf(body).digest !== pushed.digest) throw new Error(`pull ${pushed.repo}:${pushed.tag}: the manifest's digest does not verify`);
    for (const blob of pushed.blobs) {
      const res = await fetch(`${base}/v2/${pushed.repo}/blobs/${blob.digest}`);
      if (res.status !== 200) throw new Error(`pull ${pushed.repo}@${blob.digest} (tag ${pushed.tag}): ${res.status} ${await errorCode(res)}`);
      if (blobOf(Buffer.from(await res.arrayBuffer())).digest !== blob.digest) throw new Error(`pull ${pushed.repo}@${blob.digest}: the digest does not verify`);
    }
    result.tagsVerified += 1;
  };
  const verifyAll = async (): Promise<void> => {
    for (const pushed of alive.values()) await verifyImage(pushed);
  };

  const client = async (id: number): Promise<void> => {
    const mine: Pushed[] = [];
    for (let n = 0; n < pushes && Date.now() < deadline && !failed; n++) {
      await runsDone(n);
      const repo = REPOS[(id + n) % REPOS.length]!;
      const pushed = await pushImage(repo, `c${id}-${n}`, id, n);
      result.pushesSucceeded += 1;
      alive.set(`${repo}:${pushed.tag}`, pushed);
      mine.push(pushed);
      if (mine.length > KEEP_TAGS) {
        const old = mine.shift()!;
        await verifyImage(old); // every successful push is pulled whole before its tag goes
        const del = await fetch(`${base}/v2/${old.repo}/manifests/${old.tag}`, { method: 'DELETE' });
        if (del.status !== 202) throw new Error(`DELETE ${old.repo}:${old.tag}: ${del.status}`);
        alive.delete(`${old.repo}:${old.tag}`);
        result.tagsDeleted += 1;
      }
    }
  };

  const gcOptions = { dryRun: false, deleteUntagged: true, graceMs: 0, uploadPurgeAgeMs: 86_400_000, retention: [], lease: { settleMs: 5 } };
  const account = (report: GcReport): void => {
    result.gcRuns += 1;
    result.manifestsCollected += report.manifestsDeleted;
    result.blobsCollected += report.blobsDeleted;
  };
  const collector = async (): Promise<void> => {
    while (clientsDone < options.clients && Date.now() < deadline && !failed) {
      const since = pushesEnded();
      try {
        account(await collectGarbage(options.collectorStorage, gcOptions));
      } catch (err) {
        if (!(err instanceof GcBusyError)) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 100)); // runs at varying points of the pushes
      await pushesMoved(since);
    }
  };

  try {
    const stopOthers = (err: unknown) => {
      failed = true;
      throw err;
    };
    const clients = Array.from({ length: options.clients }, (_, i) =>
      client(i)
        .catch(stopOthers)
        .finally(() => (clientsDone += 1)),
    );
    await Promise.all([collector().catch(stopOthers), ...clients]);
    await verifyAll();
    account(await collectGarbage(options.collectorStorage, gcOptions));
    await verifyAll();
    return result;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
}
