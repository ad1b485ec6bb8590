/**
 * Garbage collection over a running registry (memory and filesystem storage): what is kept (tags,
 * image indexes' untagged children, referrers of kept subjects, anything inside the grace period),
 * what is swept (unreached manifests, blobs nothing else shares, links to swept blobs), dry runs,
 * and the purge of abandoned upload sessions and temporary files.
 */
import { access, mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GcReport } from '../../src/gc/collector.js';
import { ALGORITHMS } from '../../src/oci/digest.js';
import { DriverDecorator } from '../../src/storage/driver-decorator.js';
import type { ReadOptions } from '../../src/storage/driver.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import * as layout from '../../src/storage/layout.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { allObjects, collect, expectBlob, expectImage, HOUR, pushImageSharing, seedCollectable } from './gc-helpers.js';
import { buildImage, expectError, forEachDriver, pushBlob, pushImage, pushIndex, putManifest, raw } from './harness.js';

/** Sets the modification time of every file under `root` to `ms` ago. */
async function ageAll(root: string, ms: number): Promise<void> {
  const old = new Date(Date.now() - ms);
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) await utimes(join(entry.parentPath, entry.name), old, old);
  }
}

forEachDriver((make, driverName) => {
  describe('mark and sweep', () => {
    it('keeps a multi-platform index whose children are untagged, even when deleting untagged manifests', async () => {
      const { http, driver } = await make();
      const { index, children } = await pushIndex(http, 'multi', 'v1', 2);
      const before = await allObjects(driver);
      const report = await collect(driver, { deleteUntagged: true });
      expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0, linksDeleted: 0, bytesFreed: 0 });
      expect((await allObjects(driver)).filter((p) => !p.startsWith('/_gc/'))).toEqual(before);
      const got = await raw(http.get('/v2/multi/manifests/v1'));
      expect(got.body.equals(index.body)).toBe(true);
      for (const child of children) await expectImage(http, 'multi', child);
    });

    it("deleting the index's tag and collecting removes its children, configs and layers nothing else shares, and keeps shared layers", async () => {
      const { http, driver } = await make();
      const { index, children } = await pushIndex(http, 'multi', 'v1', 2);
      const shared = children[0]!.layers[0]!;
      const other = await pushImageSharing(http, 'other', 'keep', shared);
      expect((await http.delete('/v2/multi/manifests/v1')).status).toBe(202);

      const report = await collect(driver, { deleteUntagged: true });
      const swept = [
        index.body.length,
        ...children.map((c) => c.body.length),
        ...children.map((c) => c.config.size),
        children[1]!.layers[0]!.size,
      ];
      expect(report).toMatchObject({ manifestsDeleted: 3, blobsDeleted: 6, bytesFreed: swept.reduce((a, b) => a + b, 0), linksDeleted: 3 });
      expect(report.repositories).toEqual({ multi: { tagsDeleted: 0, manifestsDeleted: 3, linksDeleted: 3, bytesFreed: swept.slice(3).reduce((a, b) => a + b, 0) } });
      for (const child of children) expectError(await http.get(`/v2/multi/manifests/${child.digest}`), 404, 'MANIFEST_UNKNOWN');
      expectError(await http.get(`/v2/multi/manifests/${index.digest}`), 404, 'MANIFEST_UNKNOWN');
      expectError(await http.get(`/v2/multi/blobs/${children[1]!.layers[0]!.digest}`), 404, 'BLOB_UNKNOWN');
      expectError(await http.get(`/v2/multi/blobs/${children[0]!.config.digest}`), 404, 'BLOB_UNKNOWN');
      // the shared layer stays, in both repositories
      await expectBlob(http, 'multi', shared.digest, shared.bytes);
      await expectImage(http, 'other', other);
    });

    it('without deleteUntagged, untagged manifests stay; only blobs no manifest references are swept', async () => {
      const { http, driver } = await make();
      const untagged = await pushImage(http, 'repo', undefined);
      const orphan = await pushBlob(http, 'repo');
      const report = await collect(driver);
      expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 1, bytesFreed: orphan.size, linksDeleted: 1 });
      await expectImage(http, 'repo', untagged);
      expectError(await http.get(`/v2/repo/blobs/${orphan.digest}`), 404, 'BLOB_UNKNOWN');
    });

    it('a manifest deleted by digest loses its bytes and its blobs at the next collection', async () => {
      const { http, driver } = await make();
      const image = await pushImage(http, 'repo', 'v1');
      expect((await http.delete(`/v2/repo/manifests/${image.digest}`)).status).toBe(202);
      const report = await collect(driver);
      expect(report).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 4, bytesFreed: image.body.length + image.config.size + image.layers[0]!.size + image.layers[1]!.size });
      expect(await allObjects(driver, '/blobs')).toEqual([]);
    });

    it('referrers follow their subject: kept while it is kept, deleted with it', async () => {
      const { http, driver } = await make();
      const subject = await pushImage(http, 'signed', 'v1');
      const signature = await pushImage(http, 'signed', undefined, { artifactType: 'application/vnd.example.sig', emptyConfig: true, layers: 1, subject: subject.descriptor });
      const unrelated = await pushImage(http, 'signed', undefined);
      await pushImage(http, 'signed', 'anchor'); // keeps the repository when the rest is gone

      expect(await collect(driver, { deleteUntagged: true })).toMatchObject({ manifestsDeleted: 1 }); // only the unrelated untagged image
      await expectImage(http, 'signed', signature);
      expectError(await http.get(`/v2/signed/manifests/${unrelated.digest}`), 404, 'MANIFEST_UNKNOWN');
      expect((await http.get(`/v2/signed/referrers/${subject.digest}`)).body.manifests).toHaveLength(1);

      // the subject deleted by digest: its referrer goes too, even without deleteUntagged
      expect((await http.delete(`/v2/signed/manifests/${subject.digest}`)).status).toBe(202);
      const report = await collect(driver);
      expect(report.manifestsDeleted).toBe(1);
      expectError(await http.get(`/v2/signed/manifests/${signature.digest}`), 404, 'MANIFEST_UNKNOWN');
      expectError(await http.get(`/v2/signed/blobs/${signature.layers[0]!.digest}`), 404, 'BLOB_UNKNOWN');
      expect((await http.get(`/v2/signed/referrers/${subject.digest}`)).body.manifests).toEqual([]);
    });

    it('the grace period holds: nothing modified within it is swept', async () => {
      const { http, driver } = await make();
      const image = await pushImage(http, 'repo', 'v1');
      const orphan = await pushBlob(http, 'repo');
      await pushImage(http, 'repo', 'anchor'); // keeps the repository when the rest is gone
      expect((await http.delete('/v2/repo/manifests/v1')).status).toBe(202);
      const within = await collect(driver, { deleteUntagged: true, graceMs: HOUR });
      expect(within).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0, bytesFreed: 0 });
      await expectImage(http, 'repo', image);
      await expectBlob(http, 'repo', orphan.digest, orphan.bytes);
      // the same state, collected as if two hours had passed
      const later = await collect(driver, { deleteUntagged: true, graceMs: HOUR, now: () => Date.now() + 2 * HOUR });
      expect(later).toMatchObject({ manifestsDeleted: 1, blobsDeleted: 5 });
      expectError(await http.get(`/v2/repo/blobs/${orphan.digest}`), 404, 'BLOB_UNKNOWN');
    });

    if (driverName === 'filesystem') {
      it('a blob whose bytes are old but which was linked within the grace period is kept', async () => {
        const { http, driver } = await make();
        const blob = await pushBlob(http, 'a');
        const root = (driver as FilesystemDriver).root;
        const old = new Date(Date.now() - 2 * HOUR);
        await utimes(join(root, layout.blobData(blob.digest as Digest)), old, old);
        expect((await collect(driver, { graceMs: HOUR })).blobsDeleted).toBe(0);
        await utimes(join(root, layout.layerLink('a' as RepositoryName, blob.digest as Digest)), old, old);
        expect((await collect(driver, { graceMs: HOUR })).blobsDeleted).toBe(1);
      });

      it('a blob HEAD answered 200 counts as a use: a run within the grace period keeps the layer a client then skips uploading', async () => {
        const { http, driver } = await make({ gc: { grace: '1h' } });
        const root = (driver as FilesystemDriver).root;
        const x = await pushImage(http, 'repo', 'x', { layers: 1 });
        await pushImage(http, 'repo', 'anchor');
        expect((await http.delete('/v2/repo/manifests/x')).status).toBe(202);
        await ageAll(root, 2 * HOUR); // X untagged and older than the grace period: garbage under deleteUntagged
        const shared = x.layers[0]!;
        expect((await http.head(`/v2/repo/blobs/${shared.digest}`)).status).toBe(200); // a second client skips the layer
        const y = buildImage({ layers: 1 });
        const manifest = JSON.parse(y.body.toString('utf8')) as { layers: { digest: string; size: number }[] };
        manifest.layers[0] = { ...manifest.layers[0]!, digest: shared.digest, size: shared.size };
        const body = Buffer.from(JSON.stringify(manifest));
        await pushBlob(http, 'repo', y.config.bytes);
        const report = await collect(driver, { deleteUntagged: true, graceMs: HOUR });
        expect(report).toMatchObject({ manifestsDeleted: 1, blobsDeleted: 2 }); // X's manifest bytes and config
        const put = await putManifest(http, 'repo', 'y', body);
        expect(put.status, put.text).toBe(201);
        await expectBlob(http, 'repo', shared.digest, shared.bytes);
      });

      it('a blob HEAD re-writes the link only when it is older than a quarter of gc.grace, and never with grace 0', async () => {
        for (const [grace, age, refreshed] of [['1h', 10, false], ['1h', 20, true], ['0s', 120, false]] as const) {
          const { http, driver } = await make({ gc: { grace } });
          const blob = await pushBlob(http, 'a');
          const link = join((driver as FilesystemDriver).root, layout.layerLink('a' as RepositoryName, blob.digest as Digest));
          const old = new Date(Math.floor((Date.now() - age * 60_000) / 1000) * 1000);
          await utimes(link, old, old);
          expect((await http.head(`/v2/a/blobs/${blob.digest}`)).status).toBe(200);
          expect((await stat(link)).mtimeMs > old.getTime(), `grace ${grace}, link ${age} min old`).toBe(refreshed);
        }
      });
    }

    it("a dry run counts every repository's links to a swept blob from what it read while marking, listing each repository's links once", async () => {
      const { http, driver } = await make();
      const orphan = await pushBlob(http, 'a');
      await pushBlob(http, 'b', orphan.bytes); // the same blob, linked from a second repository
      await pushImage(http, 'c', 'v1');
      const linkListings = { count: 0 };
      class Counting extends DriverDecorator {
        override list(path: string, options?: ReadOptions): Promise<string[]> {
          if (path.includes('/_layers/')) linkListings.count += 1;
          return this.inner.list(path, options);
        }
      }
      const perRepository = { tagsDeleted: 0, manifestsDeleted: 0, linksDeleted: 1, bytesFreed: orphan.size };
      const dry = await collect(new Counting(driver), { dryRun: true });
      expect(dry).toMatchObject({ blobsDeleted: 1, linksDeleted: 2, bytesFreed: orphan.size });
      expect(dry.repositories).toEqual({ a: perRepository, b: perRepository });
      expect(linkListings.count).toBe(3 * ALGORITHMS.length); // once per repository and algorithm: while marking
      linkListings.count = 0;
      const real = await collect(new Counting(driver));
      expect(real).toMatchObject({ blobsDeleted: 1, linksDeleted: 2, bytesFreed: orphan.size });
      expect(real.repositories).toEqual(dry.repositories);
      expect(linkListings.count).toBe(2 * 3 * ALGORITHMS.length); // a deleting run lists them again, for links made meanwhile
    });

    it('dry run deletes nothing and reports the same counts as the run after it', async () => {
      const { http, driver } = await make();
      await seedCollectable(http);
      await http.post('/v2/repo/blobs/uploads/');
      const before = await allObjects(driver);
      const dry = await collect(driver, { dryRun: true, deleteUntagged: true, now: () => Date.now() + 25 * HOUR });
      expect(await allObjects(driver)).toEqual(before);
      const real = await collect(driver, { deleteUntagged: true, now: () => Date.now() + 25 * HOUR });
      const counts = ({ runId: _r, startedAt: _s, finishedAt: _f, durationMs: _d, dryRun: _dry, ...rest }: GcReport) => rest;
      expect(dry.dryRun).toBe(true);
      expect(counts(dry)).toEqual(counts(real));
      expect(real).toMatchObject({ manifestsDeleted: 4, uploadsPurged: 1 });
      expect(real.blobsDeleted).toBeGreaterThan(0);
    });
  });

  if (driverName === 'filesystem') {
    describe('with blocking reads (the driver of `wharf gc`)', () => {
      it('reports what a run through the server\'s driver (walk reads batched to its worker thread) reports, and deletes the same', async () => {
        const { http, driver } = await make();
        await seedCollectable(http);
        const root = (driver as FilesystemDriver).root;
        const blocking = new FilesystemDriver(root, { blockingReads: true });
        const counts = ({ runId: _r, startedAt: _s, finishedAt: _f, durationMs: _d, ...rest }: GcReport) => rest;
        const options = { dryRun: true, deleteUntagged: true };
        const expected = await collect(driver, options);
        expect(expected).toMatchObject({ manifestsDeleted: 4 });
        expect(expected.blobsDeleted).toBeGreaterThan(0);
        expect(counts(await collect(blocking, options))).toEqual(counts(expected));
        const real = await collect(blocking, { deleteUntagged: true });
        expect(counts(real)).toEqual({ ...counts(expected), dryRun: false });
        expect(await collect(driver, options)).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0, linksDeleted: 0 }); // all of it gone
        expect((await http.get('/v2/repo/manifests/keep')).status).toBe(200);
      });
    });
  }

  describe('purge', () => {
    it('purges upload sessions idle for longer than uploadpurge.age, keeps younger ones', async () => {
      const { http, driver } = await make();
      const started = await http.post('/v2/repo/blobs/uploads/');
      const location = started.headers.location as string;
      expect((await http.patch(location).set('Content-Type', 'application/octet-stream').send(Buffer.alloc(100, 1))).status).toBe(202);
      expect(await collect(driver, { uploadPurgeAgeMs: HOUR })).toMatchObject({ uploadsPurged: 0 });
      expect((await http.get(location)).status).toBe(204);
      const report = await collect(driver, { uploadPurgeAgeMs: HOUR, now: () => Date.now() + 2 * HOUR });
      expect(report).toMatchObject({ uploadsPurged: 1, uploadBytesFreed: 100 });
      expectError(await http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    });

    if (driverName === 'filesystem') {
      it('removes temporary files a killed process left, older than uploadpurge.age, and keeps fresh ones', async () => {
        const { http, driver } = await make();
        await pushImage(http, 'repo', 'v1');
        const root = (driver as FilesystemDriver).root;
        const stale = join(root, 'blobs', '.wharf-tmp-stale');
        const fresh = join(root, 'repositories', 'repo', '.wharf-tmp-fresh');
        await writeFile(stale, Buffer.alloc(10));
        await writeFile(fresh, Buffer.alloc(5));
        const old = new Date(Date.now() - 2 * HOUR);
        await utimes(stale, old, old);
        const report = await collect(driver, { uploadPurgeAgeMs: HOUR });
        expect(report).toMatchObject({ temporariesRemoved: 1, temporaryBytesFreed: 10, blobsDeleted: 0 });
        await expect(access(stale)).rejects.toThrow();
        await expect(access(fresh)).resolves.toBeUndefined();
      });

      it('leaves no empty folder behind once a run deleted everything a repository and a blob shard held', async () => {
        const { http, driver } = await make();
        await pushImage(http, 'repo', 'v1');
        await pushBlob(http, 'orphans'); // linked, no manifest: the run deletes the blob and the link
        const report = await collect(driver);
        expect(report).toMatchObject({ blobsDeleted: 1, linksDeleted: 1 });
        const root = (driver as FilesystemDriver).root;
        const empty: string[] = [];
        const walk = async (dir: string): Promise<void> => {
          const entries = await readdir(dir, { withFileTypes: true });
          if (entries.length === 0) empty.push(dir);
          for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
        };
        await walk(root);
        expect(empty.filter((d) => !d.includes('_gc'))).toEqual([]);
        await expect(access(join(root, 'repositories', 'orphans', '_layers'))).rejects.toThrow();
      });

      it('removes a stale temporary file beside a tag, found by the scan of its repository, and one beside a pull time', async () => {
        const { http, driver } = await make();
        await pushImage(http, 'repo', 'v1');
        const root = (driver as FilesystemDriver).root;
        const old = new Date(Date.now() - 2 * HOUR);
        const besideTag = join(root, 'repositories', 'repo', '_manifests', 'tags', '.wharf-tmp-tag');
        const pulls = join(root, 'repositories', 'repo', '_manifests', 'pulls');
        await mkdir(pulls, { recursive: true });
        const besidePull = join(pulls, '.wharf-tmp-pull');
        for (const f of [besideTag, besidePull]) {
          await writeFile(f, Buffer.alloc(3));
          await utimes(f, old, old);
        }
        expect(await collect(driver, { uploadPurgeAgeMs: HOUR })).toMatchObject({ temporariesRemoved: 2, temporaryBytesFreed: 6 });
        await expect(access(besideTag)).rejects.toThrow();
        await expect(access(besidePull)).rejects.toThrow();
      });

      it('removes a stale temporary file in a blob shard, found by the listing of the shard that marking made', async () => {
        const { http, driver } = await make();
        await pushImage(http, 'repo', 'v1');
        const root = (driver as FilesystemDriver).root;
        const shard = join(root, 'blobs', 'sha256', (await readdir(join(root, 'blobs', 'sha256')))[0]!);
        const stale = join(shard, '.wharf-tmp-stale-blob');
        await writeFile(stale, Buffer.alloc(7));
        const old = new Date(Date.now() - 2 * HOUR);
        await utimes(stale, old, old);
        expect(await collect(driver, { uploadPurgeAgeMs: HOUR, dryRun: true })).toMatchObject({ temporariesRemoved: 1, temporaryBytesFreed: 7 });
        await expect(access(stale)).resolves.toBeUndefined();
        expect(await collect(driver, { uploadPurgeAgeMs: HOUR })).toMatchObject({ temporariesRemoved: 1, temporaryBytesFreed: 7, blobsDeleted: 0 });
        await expect(access(stale)).rejects.toThrow();
      });
    }
  });
});
