/**
 * The online GC protocol with interleavings the test controls: a storage driver that stops a push
 * at a chosen storage call lets the collector's steps (start, mark, sweep, finish) run in a chosen
 * order around it. Each case asserts that the blob survives, or that the push fails cleanly and
 * leaves nothing pointing at a swept blob. The collector's clock runs one minute ahead, so
 * everything counts as older than the grace period and only the touch protocol protects a push.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GcRun } from '../../src/gc/collector.js';
import { type GcOptions } from '../../src/gc/options.js';
import { GcBusyError, GcLease, GcLeaseLostError } from '../../src/gc/lease.js';
import { readLease } from '../../src/gc/protocol.js';
import { digestBytes, parseDigest, type Digest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { GcGuard } from '../../src/registry/gc-guard.js';
import { ImageImport } from '../../src/registry/image-import.js';
import { Registry } from '../../src/registry/registry.js';
import { statIfExists, type AppendedState, type AppendOptions, type FileInfo, type ReadRange, type StorageDriver } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { OCI_LAYOUT, ociBlob, ociIndexJson, ociManifest, packTar } from '../integration/tarballs.js';

/** A driver that can hold one matching call until the test releases it. */
class PausingDriver implements StorageDriver {
  readonly name = 'pausing';
  readonly #inner = new MemoryDriver();
  #pause: { matches: (method: string, path: string) => boolean; skip: number; reached: () => void; gate: Promise<void> } | undefined;

  /**
   * Holds the `nth` call (1-based, counted from now) of `method` on `path`.
   * @returns `reached` (resolves when the call is held) and `release`
   */
  pauseAt(method: string, path: string, nth = 1): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let reached!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.#pause = { matches: (m, p) => m === method && p === path, skip: nth - 1, reached, gate };
    return { reached: reachedPromise, release };
  }

  private async hold(method: string, path: string): Promise<void> {
    const pause = this.#pause;
    if (!pause?.matches(method, path)) return;
    if (pause.skip-- > 0) return;
    this.#pause = undefined;
    pause.reached();
    await pause.gate;
  }

  async stat(path: string): Promise<FileInfo> {
    await this.hold('stat', path);
    return this.#inner.stat(path);
  }
  async getContent(path: string): Promise<Buffer> {
    await this.hold('getContent', path);
    return this.#inner.getContent(path);
  }
  async putContent(path: string, content: Buffer | string): Promise<void> {
    await this.hold('putContent', path);
    return this.#inner.putContent(path, content);
  }
  reader(path: string, range?: ReadRange): Promise<Readable> {
    return this.#inner.reader(path, range);
  }
  appendedState(path: string): Promise<AppendedState> {
    return this.#inner.appendedState(path);
  }
  append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    return this.#inner.append(path, source, options);
  }
  appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return this.#inner.appendedReader(path, state);
  }
  commitAppended(path: string, dest: string, state: AppendedState): Promise<void> {
    return this.#inner.commitAppended(path, dest, state);
  }
  move(source: string, dest: string): Promise<void> {
    return this.#inner.move(source, dest);
  }
  list(path: string): Promise<string[]> {
    return this.#inner.list(path);
  }
  async delete(path: string): Promise<void> {
    await this.hold('delete', path);
    return this.#inner.delete(path);
  }
}

const A = 'team/a' as RepositoryName;
const B = 'team/b' as RepositoryName;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A run with grace 0 whose clock runs a minute ahead (everything already stored counts as old). */
function gcOptions(overrides: Partial<GcOptions> = {}): GcOptions {
  return {
    dryRun: false,
    deleteUntagged: true,
    graceMs: 0,
    uploadPurgeAgeMs: 86_400_000,
    retention: [],
    lease: { settleMs: 5 },
    now: () => Date.now() + 60_000,
    ...overrides,
  };
}

/** @param leaseReuseMs how old a completed lease read an operation may take as its first (GcGuardOptions.leaseReuseMs) */
function setup(leaseReuseMs = 0) {
  const driver = new PausingDriver();
  const registry = new Registry(driver, { gcGuard: { pollMs: 2, leaseReuseMs } });
  const pushBlob = async (name: RepositoryName, bytes: Buffer = randomBytes(48)): Promise<Digest> => {
    const digest = digestBytes(bytes);
    const session = await registry.uploads.create(name);
    await registry.uploads.commit(name, session.id, parseDigest(digest), Readable.from([bytes]));
    return digest;
  };
  const manifestOf = (config: Digest, layer: Digest): Buffer =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 48 },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 48 }],
      }),
    );
  const stored = async (d: Digest): Promise<boolean> => (await statIfExists(driver, layout.blobData(d))) !== undefined;
  /** Starts a manifest PUT of `body` to `tag` in A and holds it just before its tag write; `release()` lets it go on. */
  const putHeldAtTag = async (tag: string, body: Buffer): Promise<{ put: Promise<{ digest: Digest }>; release: () => void }> => {
    const pause = driver.pauseAt('putContent', layout.tag(A, tag as Tag));
    const put = registry.manifests.put(A, { tag: tag as Tag }, body, OCI_MANIFEST);
    await pause.reached;
    return { put, release: pause.release };
  };
  return { driver, registry, pushBlob, manifestOf, stored, putHeldAtTag };
}

async function expectRegistryError(promise: Promise<unknown>, code: string): Promise<RegistryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  expect((err as RegistryError).code).toBe(code);
  return err as RegistryError;
}

/** A tarball in OCI image layout of one image (a config and one layer `layer`), and the image's manifest digest. */
async function ociTarball(layer: Buffer): Promise<{ tarball: Buffer; manifest: Digest }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomUUID() }));
  const manifest = ociManifest(config, [layer]);
  const tarball = await packTar([OCI_LAYOUT, ociBlob(config), ociBlob(layer), ociBlob(manifest.body), ociIndexJson(manifest.descriptor)]);
  return { tarball, manifest: manifest.descriptor.digest as Digest };
}

/** The race cases run twice: each operation reading the lease first (as before), and operations taking the last read (lease-reads.ts). */
const LEASE_MODES = [
  { mode: 'each operation reads the lease first', leaseReuseMs: 0 },
  { mode: 'operations reuse the last lease read', leaseReuseMs: 3_600_000 },
];

describe.each(LEASE_MODES)('$mode', ({ leaseReuseMs }) => {
  describe('GC guard: a manifest PUT racing a collection', () => {
    it('a PUT whose tag lands during mark is kept by the sweep, with its blobs', async () => {
      const { driver, registry, pushBlob, manifestOf, stored, putHeldAtTag } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      const body = manifestOf(config, layer);
      const { put, release } = await putHeldAtTag('v1', body);
      const run = await GcRun.start(driver, gcOptions());
      await run.mark(); // the revision is untagged and old: a candidate, and so are its blobs
      release();
      const pushed = await put;
      await run.sweep();
      const report = await run.finish();
      await run.release();
      expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0 });
      expect(report.keptTouched).toBeGreaterThan(0);
      expect(await registry.manifests.get(A, { tag: 'v1' as Tag })).toMatchObject({ digest: pushed.digest });
      for (const d of [config, layer, pushed.digest]) expect(await stored(d)).toBe(true);
    });

    it('a PUT whose tag lands during the sweep waits for the run to end, then fails cleanly: no tag, no revision', async () => {
      const { driver, registry, pushBlob, manifestOf, stored, putHeldAtTag } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      const body = manifestOf(config, layer);
      const { put, release } = await putHeldAtTag('v1', body);
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await run.sweep(); // deletes the revision, the manifest's bytes and both blobs
      release();
      let settled = false;
      void put.catch(() => undefined).finally(() => (settled = true));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(settled).toBe(false); // still waiting: the run is sweeping
      await run.finish();
      await run.release();
      await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      expect(await statIfExists(driver, layout.tag(A, 'v1' as Tag))).toBeUndefined();
      expect(await registry.manifests.exists(A, digestBytes(body))).toBe(false);
      expect(await stored(config)).toBe(false);
    });

    it('a whole run between a PUT’s blob checks and its writes is noticed: the PUT fails cleanly', async () => {
      const { driver, pushBlob, manifestOf, putHeldAtTag } = setup(leaseReuseMs);
      const body = manifestOf(await pushBlob(A), await pushBlob(A));
      const { put, release } = await putHeldAtTag('v1', body);
      const report = await (await GcRun.start(driver, gcOptions())).complete();
      expect(report.blobsDeleted).toBe(3);
      release();
      await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      expect(await statIfExists(driver, layout.tag(A, 'v1' as Tag))).toBeUndefined();
    });

    it('an index PUT during mark keeps its untagged children and their blobs', async () => {
      const { driver, registry, pushBlob, manifestOf, stored } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      const child = manifestOf(config, layer);
      const { digest: childDigest } = await registry.manifests.put(A, { digest: parseDigest(digestBytes(child)) }, child, OCI_MANIFEST);
      const index = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: [{ mediaType: OCI_MANIFEST, digest: childDigest, size: child.length }],
        }),
      );
      const run = await GcRun.start(driver, gcOptions());
      await run.mark(); // the child is untagged and old: a candidate, and so are its config and layer
      await registry.manifests.put(A, { tag: 'multi' as Tag }, index, 'application/vnd.oci.image.index.v1+json');
      await run.sweep();
      const report = await run.finish();
      await run.release();
      expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0 });
      for (const d of [config, layer, childDigest]) expect(await stored(d)).toBe(true);
    });
  });

  describe('GC guard: an undone manifest PUT to an existing tag', () => {
    // Outside testing: the undo deleted the tag, so the next collection deleted the image it had pointed at.
    it('puts the tag back to the manifest it pointed at, which the next collection keeps', async () => {
      const { driver, registry, pushBlob, manifestOf, stored, putHeldAtTag } = setup(leaseReuseMs);
      const good = manifestOf(await pushBlob(A), await pushBlob(A));
      const { digest: goodDigest } = await registry.manifests.put(A, { tag: 'v1' as Tag }, good, OCI_MANIFEST);
      const before = await registry.manifests.resolveTag(A, 'v1' as Tag);
      const next = manifestOf(await pushBlob(A), await pushBlob(A)); // its blobs are orphans until the PUT lands: candidates
      const { put, release } = await putHeldAtTag('v1', next);
      const report = await (await GcRun.start(driver, gcOptions())).complete();
      expect(report.blobsDeleted).toBe(3); // the new manifest's bytes, config and layer
      release();
      const err = await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      expect((err.detail as { removedByGc?: boolean }).removedByGc).toBe(true);
      expect(await registry.manifests.resolveTag(A, 'v1' as Tag)).toEqual(before);
      const again = await (await GcRun.start(driver, gcOptions())).complete();
      expect(again).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0 });
      expect(await stored(goodDigest)).toBe(true);
      expect((await registry.manifests.get(A, { tag: 'v1' as Tag })).digest).toBe(goodDigest);
    });

    it('leaves the tag alone when another PUT moved it meanwhile', async () => {
      const { driver, registry, pushBlob, manifestOf, putHeldAtTag } = setup(leaseReuseMs);
      await registry.manifests.put(A, { tag: 'v1' as Tag }, manifestOf(await pushBlob(A), await pushBlob(A)), OCI_MANIFEST);
      const next = manifestOf(await pushBlob(A), await pushBlob(A));
      const { put, release } = await putHeldAtTag('v1', next);
      await (await GcRun.start(driver, gcOptions())).complete();
      const third = manifestOf(await pushBlob(A), await pushBlob(A));
      // the held PUT writes its tag now (and stops at its last check); a third PUT of the same tag after it wins and must not be undone
      const pauseAgain = driver.pauseAt('stat', layout.manifestRevision(A, digestBytes(next)));
      release();
      await pauseAgain.reached;
      const { digest: thirdDigest } = await registry.manifests.put(A, { tag: 'v1' as Tag }, third, OCI_MANIFEST);
      pauseAgain.release();
      await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      expect((await registry.manifests.resolveTag(A, 'v1' as Tag)).digest).toBe(thirdDigest);
    });

    it('deletes a tag that did not exist before the PUT', async () => {
      const { driver, pushBlob, manifestOf, putHeldAtTag } = setup(leaseReuseMs);
      const { put, release } = await putHeldAtTag('new', manifestOf(await pushBlob(A), await pushBlob(A)));
      await (await GcRun.start(driver, gcOptions())).complete();
      release();
      await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      expect(await statIfExists(driver, layout.tag(A, 'new' as Tag))).toBeUndefined();
    });

    it('removedByGc is false when a client, not the collection, deleted what the manifest references', async () => {
      const { driver, registry, pushBlob, manifestOf, putHeldAtTag } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      await registry.manifests.put(A, { tag: 'keep' as Tag }, manifestOf(config, layer), OCI_MANIFEST); // tagged: the run keeps both blobs
      const other = manifestOf(config, layer);
      const otherBody = Buffer.concat([other.subarray(0, -1), Buffer.from(',"annotations":{"x":"y"}}')]);
      const { put, release } = await putHeldAtTag('v2', otherBody);
      const run = await GcRun.start(driver, gcOptions());
      await run.mark(); // active while the PUT settles, so the PUT checks what it relies on
      await registry.blobs.unlink(A, layer); // DELETE /v2/team/a/blobs/<layer> by a client
      release();
      const err = await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      await run.sweep();
      await run.finish();
      await run.release();
      expect(err.detail).toMatchObject({ digest: layer, removedByGc: false });
      expect(err.message).not.toMatch(/garbage collection/);
    });

    it('an undone PUT of a stored manifest to a second tag removes its tag only: the revision it did not write stays for the first tag', async () => {
      const { driver, registry, pushBlob, manifestOf, putHeldAtTag } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      const body = manifestOf(config, layer);
      const { digest } = await registry.manifests.put(A, { tag: 'keep' as Tag }, body, OCI_MANIFEST);
      const { put, release } = await putHeldAtTag('v2', body); // the revision is stored and recent: this PUT writes the tag only
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await registry.blobs.unlink(A, layer); // a client's blob DELETE: the PUT fails
      release();
      await expectRegistryError(put, 'MANIFEST_BLOB_UNKNOWN');
      await run.sweep();
      await run.finish();
      await run.release();
      expect(await statIfExists(driver, layout.tag(A, 'v2' as Tag))).toBeUndefined();
      expect(await statIfExists(driver, layout.manifestRevision(A, digest))).toBeDefined();
      expect((await registry.manifests.resolveTag(A, 'keep' as Tag)).digest).toBe(digest);
    });
  });

  describe('GC guard: blob HEAD, mount and upload commit racing a collection', () => {
    it('a HEAD during mark protects the blob; the PUT that skipped the upload succeeds', async () => {
      const { driver, registry, pushBlob, manifestOf, stored } = setup(leaseReuseMs);
      const [config, layer] = [await pushBlob(A), await pushBlob(A)];
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await registry.blobs.head(A, config);
      await registry.blobs.head(A, layer);
      await run.sweep();
      await run.finish();
      await run.release();
      expect(await stored(config)).toBe(true);
      await registry.manifests.put(A, { tag: 'v1' as Tag }, manifestOf(config, layer), OCI_MANIFEST);
    });

    it('a HEAD whose check passed before the sweep deleted the blob waits, then answers BLOB_UNKNOWN', async () => {
      const { driver, registry, pushBlob } = setup(leaseReuseMs);
      const blob = await pushBlob(A);
      // the guard's read after the existence check: its second read, or its only one when it took the last read as its first
      const pause = driver.pauseAt('getContent', layout.gcLease(), leaseReuseMs > 0 ? 1 : 2);
      const head = registry.blobs.head(A, blob);
      await pause.reached;
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await run.sweep();
      pause.release();
      await run.finish();
      await run.release();
      await expectRegistryError(head, 'BLOB_UNKNOWN');
    });

    it('during the sweep, a HEAD of a blob the run keeps answers at once; a HEAD of a candidate waits for the run, then 404s', async () => {
      const { driver, registry, pushBlob, manifestOf, stored } = setup(leaseReuseMs);
      const [config, layer, orphan] = [await pushBlob(A), await pushBlob(A), await pushBlob(A)];
      await registry.manifests.put(A, { tag: 'v1' as Tag }, manifestOf(config, layer), OCI_MANIFEST);
      const pause = driver.pauseAt('delete', layout.blobData(orphan)); // after the sweep checked the orphan's touch marker
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      const sweep = run.sweep();
      await pause.reached;
      expect(await registry.blobs.head(A, layer)).toMatchObject({ digest: layer }); // not a candidate: no wait
      const head = registry.blobs.head(A, orphan);
      pause.release();
      await sweep;
      await run.finish();
      await run.release();
      await expectRegistryError(head, 'BLOB_UNKNOWN');
      expect(await stored(orphan)).toBe(false);
      expect(await stored(layer)).toBe(true);
    });

    it('a mount during mark keeps the blob for the mounting repository', async () => {
      const { driver, registry, pushBlob, stored } = setup(leaseReuseMs);
      const blob = await pushBlob(A);
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      expect(await registry.blobs.mount(B, blob, [A])).toMatchObject({ digest: blob });
      await run.sweep();
      await run.finish();
      await run.release();
      expect(await stored(blob)).toBe(true);
      expect(await registry.blobs.servable(B, blob)).toBe(true);
    });

    it('an upload commit of a stored blob, linked during the sweep that deletes it, fails cleanly and leaves no link', async () => {
      const { driver, registry, pushBlob } = setup(leaseReuseMs);
      const bytes = randomBytes(48);
      const blob = await pushBlob(A, bytes);
      const session = await registry.uploads.create(B);
      const pause = driver.pauseAt('putContent', layout.layerLink(B, blob));
      const commit = registry.uploads.commit(B, session.id, parseDigest(blob), Readable.from([bytes]));
      await pause.reached;
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await run.sweep();
      pause.release();
      await run.finish();
      await run.release();
      const err = await expectRegistryError(commit, 'BLOB_UPLOAD_INVALID');
      expect(err.message).toBe(`a garbage collection removed blob ${blob} while this upload was committed: upload it again`);
      expect(err.detail).toEqual({ digest: blob, removedByGc: true, reason: `a garbage collection that ran meanwhile removed ${blob}: upload the blob again (a new upload session)` });
      expect(await statIfExists(driver, layout.layerLink(B, blob))).toBeUndefined();
      expect(await pushBlob(B, bytes)).toBe(blob); // uploading again works
    });
  });

  describe('GC guard: an image import racing a collection', () => {
    /** Runs a whole collection (grace 0, clock a minute ahead) while the import is held at `pause`. */
    async function collectWhileHeld(driver: PausingDriver, pause: { reached: Promise<void>; release: () => void }): Promise<void> {
      await pause.reached;
      const run = await GcRun.start(driver, gcOptions());
      await run.mark();
      await run.sweep();
      pause.release();
      await run.finish();
      await run.release();
    }

    it('a layer stored before, swept while the import commits it: 400 MANIFEST_BLOB_UNKNOWN "a garbage collection ... removed it ... retry the import"', async () => {
      const { driver, registry, pushBlob } = setup(leaseReuseMs);
      const layer = randomBytes(64);
      const layerDigest = await pushBlob(A, layer); // stored, no manifest uses it: a candidate
      const { tarball } = await ociTarball(layer);
      const job = new ImageImport(registry, B, 1 << 20);
      await job.read(Readable.from([tarball]));
      const pause = driver.pauseAt('putContent', layout.layerLink(B, layerDigest));
      const finish = job.finish('v1' as Tag);
      await collectWhileHeld(driver, pause);
      const err = await expectRegistryError(finish, 'MANIFEST_BLOB_UNKNOWN');
      expect(err.message).toBe(`${layerDigest}, which this import stored, vanished before the import ended (a garbage collection that ran meanwhile removed it): retry the import`);
      expect(err.detail).toEqual({ digest: layerDigest, removedByGc: true });
      expect(await registry.blobs.servable(B, layerDigest)).toBe(false);
    });

    it('blobs the import committed, swept before its manifest PUT ends: the same "retry the import" answer, no tag left', async () => {
      const { driver, registry } = setup(leaseReuseMs);
      const { tarball, manifest } = await ociTarball(randomBytes(64));
      const job = new ImageImport(registry, B, 1 << 20);
      await job.read(Readable.from([tarball]));
      const pause = driver.pauseAt('putContent', layout.manifestRevision(B, manifest));
      const finish = job.finish('v1' as Tag);
      await collectWhileHeld(driver, pause);
      const err = await expectRegistryError(finish, 'MANIFEST_BLOB_UNKNOWN');
      expect(err.message).toMatch(/^sha256:[0-9a-f]{64}, which this import stored, vanished before the import ended \(a garbage collection that ran meanwhile removed it\): retry the import$/);
      await expectRegistryError(registry.manifests.get(B, { tag: 'v1' as Tag }), 'MANIFEST_UNKNOWN');
    });
  });
});

describe('GC lease', () => {
  it('of two runs starting together, exactly one takes the lease', async () => {
    const driver = new MemoryDriver();
    const results = await Promise.allSettled([
      GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 20 }),
      GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 20 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
    expect(rejected.reason).toBeInstanceOf(GcBusyError);
    await (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<GcLease>).value.release();
  });

  it('an expired lease (a crashed run) is taken over; an active one is not', async () => {
    const driver = new MemoryDriver();
    const crashed = randomUUID();
    const stale = { runId: crashed, owner: 'x', phase: 'sweep', expiresAt: Date.now() - 60_000, startedAt: new Date().toISOString() };
    await driver.putContent(layout.gcLease(), JSON.stringify(stale));
    const lease = await GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 5 });
    await expect(GcLease.acquire(driver, randomUUID() as layout.GcRunId, { settleMs: 5 })).rejects.toBeInstanceOf(GcBusyError);
    await lease.release();
    expect((await readLease(driver))?.phase).toBe('done');
  });

  it('a run whose lease was taken over stops before its first delete', async () => {
    const { driver, pushBlob, stored } = setup();
    const blob = await pushBlob(A);
    const run = await GcRun.start(driver, gcOptions());
    await run.mark();
    const current = (await readLease(driver))!;
    await driver.putContent(layout.gcLease(), JSON.stringify({ ...current, owner: 'someone-else', runId: randomUUID() }));
    await expect(run.sweep()).rejects.toBeInstanceOf(GcLeaseLostError);
    expect(await stored(blob)).toBe(true);
  });
});

describe('GC guard: a last check run alongside the lease read (GuardedUse.pending)', () => {
  /** A memory driver that logs its reads of the lease. */
  class LeaseLog extends MemoryDriver {
    readonly events: string[] = [];
    override async getContent(path: string): Promise<Buffer> {
      if (path === layout.gcLease()) this.events.push('lease');
      return super.getContent(path);
    }
  }

  it('reads the lease once when the check wrote nothing, and again after the check wrote', async () => {
    const driver = new LeaseLog();
    const guard = new GcGuard(driver);
    const quiet = await guard.begin();
    expect(await quiet.settle({ digests: [], intact: async () => true, pending: Promise.resolve(false) })).toBe(true);
    expect(driver.events).toEqual(['lease', 'lease']);
    driver.events.length = 0;
    const wrote = await guard.begin();
    const pending = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      driver.events.push('write');
      return true;
    })();
    expect(await wrote.settle({ digests: [], intact: async () => true, pending })).toBe(true);
    // begin() took the read the first operation's settle completed (under a second old): no read of its own
    expect(driver.events).toEqual(['lease', 'write', 'lease']);
  });
});
