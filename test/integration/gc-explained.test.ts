/**
 * Garbage collection that explains itself (outside testing: a newcomer deleted an image, ran `wharf gc`
 * and saw 0 bytes freed with no reason, the default 1 h grace having kept everything): the report counts
 * what only the grace period kept (manifests, blobs, bytes, and when they can go) and the untagged
 * manifests kept; `wharf gc` prints them in one line each and `--grace` overrides gc.grace for one run.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { gc } from '../../src/cli/gc.js';
import { ConfigError } from '../../src/config/load.js';
import type { GcReport } from '../../src/gc/collector.js';
import { GcBusyError, GcLease } from '../../src/gc/lease.js';
import { GcRunRecords, type GcRunRecord } from '../../src/gc/runs.js';
import type { GcRunId } from '../../src/storage/layout.js';
import { FilesystemDriver } from '../../src/storage/filesystem.js';
import { configFile } from '../support/config.js';
import { collect, HOUR } from './gc-helpers.js';
import { eventually, forEachDriver, pushBlob, pushImage, testConfig } from './harness.js';
import supertest from 'supertest';
import { pino } from 'pino';

forEachDriver((make) => {
  describe('the report says what the grace period and untagged manifests kept', () => {
    it('an image deleted by digest a moment ago: nothing freed, all of it counted as kept by the grace period until it can go', async () => {
      const { http, driver } = await make();
      const image = await pushImage(http, 'gone/app', 'v1');
      expect((await http.delete(`/v2/gone/app/manifests/${image.digest}`)).status).toBe(202);
      const pushedBy = Date.now();
      const bytes = image.body.length + image.config.size + image.layers.reduce((sum, l) => sum + l.size, 0);

      const kept = await collect(driver, { graceMs: HOUR });
      expect(kept).toMatchObject({ blobsDeleted: 0, bytesFreed: 0, keptByGrace: { manifests: 0, blobs: 4, bytes }, untaggedKept: 0 });
      const collectableBy = Date.parse(kept.keptByGrace.collectableBy!);
      expect(collectableBy).toBeGreaterThan(pushedBy + HOUR - 60_000);
      expect(collectableBy).toBeLessThanOrEqual(pushedBy + HOUR + 1000);

      const freed = await collect(driver, { graceMs: 0 });
      expect(freed).toMatchObject({ blobsDeleted: 4, bytesFreed: bytes, keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null } });
    });

    it('a deleted tag: its manifest counted as an untagged manifest kept; with --delete-untagged and no grace it goes', async () => {
      const { http, driver } = await make();
      await pushImage(http, 'untagged/app', 'v1');
      expect((await http.delete('/v2/untagged/app/manifests/v1')).status).toBe(202);
      const kept = await collect(driver, { graceMs: HOUR });
      expect(kept).toMatchObject({ manifestsDeleted: 0, blobsDeleted: 0, untaggedKept: 1, keptByGrace: { manifests: 0, blobs: 0 } });
      const young = await collect(driver, { graceMs: HOUR, deleteUntagged: true });
      expect(young).toMatchObject({ manifestsDeleted: 0, untaggedKept: 0, keptByGrace: { manifests: 1, blobs: 4 } });
      const gone = await collect(driver, { graceMs: 0, deleteUntagged: true });
      expect(gone).toMatchObject({ manifestsDeleted: 1, blobsDeleted: 4, untaggedKept: 0 });
    });

    it('the admin API\'s run record carries the same counts', async () => {
      const { http } = await make({ gc: { grace: '1h' } });
      const orphan = await pushBlob(http, 'admin/app');
      const id = ((await http.post('/admin/v1/gc')).body as { id: string }).id;
      let record: GcRunRecord | undefined;
      await eventually(async () => (record = (await http.get(`/admin/v1/gc/${id}`)).body as GcRunRecord).state !== 'running', 'the run to end');
      expect(record!.report).toMatchObject({ blobsDeleted: 0, keptByGrace: { blobs: 1, bytes: orphan.size }, untaggedKept: 0 });
    });

    it('a tagged image is kept without counting it anywhere', async () => {
      const { http, driver } = await make();
      await pushImage(http, 'tagged/app', 'v1');
      expect(await collect(driver, { graceMs: HOUR, deleteUntagged: true })).toMatchObject({ untaggedKept: 0, keptByGrace: { manifests: 0, blobs: 0, bytes: 0, collectableBy: null } });
    });
  });
});

describe('wharf gc', () => {
  /** A filesystem registry with one image deleted by digest a moment ago; its configuration file. */
  async function deletedImage(): Promise<{ root: string; file: string; bytes: number }> {
    const root = await mkdtemp(join(tmpdir(), 'wharf-gc-cli-'));
    const config = testConfig('filesystem', root);
    const http = supertest(createApp({ config, storage: new FilesystemDriver(root), logger: pino({ level: 'silent' }) }));
    const image = await pushImage(http, 'cli/app', 'v1');
    expect((await http.delete(`/v2/cli/app/manifests/${image.digest}`)).status).toBe(202);
    const bytes = image.body.length + image.config.size + image.layers.reduce((sum, l) => sum + l.size, 0);
    return { root, file: configFile(`storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(root)}\n`), bytes };
  }

  async function run(options: Parameters<typeof gc>[0]): Promise<string> {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await gc(options, out, new PassThrough());
    return Buffer.concat(chunks).toString('utf8');
  }

  it('prints in one line what the default grace period kept, and when; --grace 0s collects it', async () => {
    const { root, file, bytes } = await deletedImage();
    try {
      const text = await run({ config: file });
      const line = text.split('\n').find((l) => l.includes('younger than the grace period'));
      expect(line).toMatch(new RegExp(`kept 0 manifests and 4 blobs \\(${bytes} bytes\\) only because they are younger than the grace period \\(3600s\\): collectable from \\d{4}-\\d\\d-\\d\\dT.*Z, or now with --grace 0s`));
      const report = JSON.parse(await run({ config: file, grace: '0s', json: true })) as GcReport;
      expect(report).toMatchObject({ graceMs: 0, blobsDeleted: 4, bytesFreed: bytes });
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(dirname(file), { recursive: true, force: true });
    }
  });

  it('--dry-run does not run while another run holds the lease: it fails naming that run, and records nothing', async () => {
    const { root, file } = await deletedImage();
    const storage = new FilesystemDriver(root);
    const holder = await GcLease.acquire(storage, randomUUID() as GcRunId, { settleMs: 10 });
    try {
      await expect(run({ config: file, dryRun: true })).rejects.toThrow(GcBusyError);
      await expect(run({ config: file, dryRun: true })).rejects.toThrow(`another garbage collection is running (run ${holder.runId}`);
      expect(await new GcRunRecords(storage).list()).toEqual([]);
      await holder.release();
      expect(await run({ config: file, dryRun: true })).toContain('(dry run: nothing was deleted)');
    } finally {
      await holder.release();
      await rm(root, { recursive: true, force: true });
      await rm(dirname(file), { recursive: true, force: true });
    }
  });

  it('refuses a --grace that is no duration, naming the option and the syntax', async () => {
    const { root, file } = await deletedImage();
    try {
      await expect(run({ config: file, grace: 'soon' })).rejects.toThrow(ConfigError);
      await expect(run({ config: file, grace: 'soon' })).rejects.toThrow(/--grace "soon": expected a duration such as 90s/);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(dirname(file), { recursive: true, force: true });
    }
  });
});
