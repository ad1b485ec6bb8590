/**
 * The garbage collection endpoints of the admin API: `POST /admin/v1/gc` (202 `{id}`, 409 while
 * another run holds the lease or this process has a run under way, a dry run too, 400 for a bad body, 415 for a body that is not JSON or of an unknown encoding), `GET /admin/v1/gc/{id}` (404 for an unknown id)
 * and `GET /admin/v1/gc`, all errors in the spec's JSON shape.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gcOptionsFrom } from '../../src/gc/options.js';
import { GcLease } from '../../src/gc/lease.js';
import { isActive, readLease } from '../../src/gc/protocol.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { startRecordedRun, type GcRunRecord } from '../../src/gc/runs.js';
import type { GcRunId } from '../../src/storage/layout.js';
import { GatedDriver } from './gc-helpers.js';
import { eventually, expectError, forEachDriver, pushBlob, pushImage, sendBytes, type Client } from './harness.js';

/** Polls a run until it is no longer running and has released its lease (so the test's storage can be removed); returns its record. */
async function finished(http: Client, driver: StorageDriver, id: string): Promise<GcRunRecord> {
  let record: GcRunRecord | undefined;
  await eventually(async () => {
    const res = await http.get(`/admin/v1/gc/${id}`);
    expect(res.status).toBe(200);
    record = res.body as GcRunRecord;
    return record.state !== 'running' && !isActive(await readLease(driver), Date.now());
  }, `GC run ${id} to finish`);
  return record!;
}

forEachDriver((make) => {
  describe('admin API: garbage collection', () => {
    it('POST /admin/v1/gc starts a run (202 {id}); GET /admin/v1/gc/{id} reports it; GET /admin/v1/gc lists it', async () => {
      const { http, driver } = await make({ gc: { grace: '0s' } });
      const orphan = await pushBlob(http, 'repo');
      await pushImage(http, 'repo', 'v1');
      const started = await http.post('/admin/v1/gc').send({ dryRun: false, deleteUntagged: true });
      expect(started.status).toBe(202);
      expect(Object.keys(started.body as object)).toEqual(['id']);
      const id = (started.body as { id: string }).id;
      expect(started.headers.location).toBe(`/admin/v1/gc/${id}`);
      const record = await finished(http, driver, id);
      expect(record).toMatchObject({ id, state: 'succeeded', dryRun: false, deleteUntagged: true, error: null });
      expect(Date.parse(record.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(record.startedAt));
      expect(record.report).toMatchObject({ runId: id, blobsDeleted: 1, bytesFreed: orphan.size, manifestsDeleted: 0 });
      expect(record.report!.repositories).toEqual({ repo: { tagsDeleted: 0, manifestsDeleted: 0, linksDeleted: 1, bytesFreed: orphan.size } });
      expectError(await http.get(`/v2/repo/blobs/${orphan.digest}`), 404, 'BLOB_UNKNOWN');

      const dry = await http.post('/admin/v1/gc').send({ dryRun: true });
      expect(dry.status).toBe(202);
      const dryRecord = await finished(http, driver, (dry.body as { id: string }).id);
      expect(dryRecord).toMatchObject({ state: 'succeeded', dryRun: true, deleteUntagged: false });

      const list = await http.get('/admin/v1/gc');
      expect(list.status).toBe(200);
      expect((list.body as { runs: GcRunRecord[] }).runs.map((r) => r.id)).toEqual([dryRecord.id, id]);
    });

    it('an empty body means {"dryRun": false, "deleteUntagged": false}; gc.deleteuntagged from the configuration applies', async () => {
      const { http, driver } = await make({ gc: { grace: '0s', deleteuntagged: true } });
      await pushImage(http, 'repo', undefined);
      await pushImage(http, 'repo', 'v1');
      const started = await http.post('/admin/v1/gc');
      expect(started.status).toBe(202);
      const record = await finished(http, driver, (started.body as { id: string }).id);
      expect(record).toMatchObject({ state: 'succeeded', dryRun: false, deleteUntagged: true, report: { manifestsDeleted: 1 } });
    });

    it('409 GC_RUNNING while another run holds the lease', async () => {
      const { http, driver } = await make({ gc: { grace: '0s' } });
      const holder = await GcLease.acquire(driver, randomUUID() as GcRunId, { settleMs: 10 });
      try {
        const res = await http.post('/admin/v1/gc').send({});
        const message = expectError(res, 409, 'GC_RUNNING');
        expect(message).toContain(`run ${holder.runId}`);
        expect(res.body.errors[0].detail).toEqual({ runId: holder.runId });
      } finally {
        await holder.release();
      }
      const after = await http.post('/admin/v1/gc').send({});
      expect(after.status).toBe(202);
      expect((await finished(http, driver, (after.body as { id: string }).id)).state).toBe('succeeded');
    });

    it('409 GC_RUNNING naming the run under way in this process, a dry run too, for a dry or a deleting run; 202 once it ended', async () => {
      const { http, driver, config } = await make({ gc: { grace: '0s' } });
      const gated = new GatedDriver(driver);
      const under = await startRecordedRun(gated, gcOptionsFrom(config.gc, { dryRun: true }));
      try {
        for (const body of [{ dryRun: true }, { dryRun: false }, {}]) {
          const res = await http.post('/admin/v1/gc').send(body);
          const message = expectError(res, 409, 'GC_RUNNING');
          expect(message).toContain(`garbage collection run ${under.id} (a dry run, started `);
          expect(message).toContain(`follow it at /admin/v1/gc/${under.id}`);
          expect(res.body.errors[0].detail).toEqual({ runId: under.id });
        }
        expect((await http.get(`/admin/v1/gc/${under.id}`)).body).toMatchObject({ id: under.id, state: 'running', dryRun: true });
      } finally {
        gated.open();
      }
      expect((await under.done).state).toBe('succeeded');
      const after = await http.post('/admin/v1/gc').send({ dryRun: true });
      expect(after.status, after.text).toBe(202);
      expect((await finished(http, driver, (after.body as { id: string }).id)).state).toBe('succeeded');
      expect((await http.get('/admin/v1/gc')).body.runs).toHaveLength(2);
    });

    it('a dry run too answers 409 GC_RUNNING while another process holds the lease', async () => {
      const { http, driver } = await make();
      const holder = await GcLease.acquire(driver, randomUUID() as GcRunId, { settleMs: 10 });
      try {
        const res = await http.post('/admin/v1/gc').send({ dryRun: true });
        expect(expectError(res, 409, 'GC_RUNNING')).toContain(`another garbage collection is running (run ${holder.runId}`);
        expect(res.body.errors[0].detail).toEqual({ runId: holder.runId });
      } finally {
        await holder.release();
      }
      expect((await http.get('/admin/v1/gc')).body).toEqual({ runs: [] });
    });

    it('404 GC_RUN_UNKNOWN for an unknown or malformed run id', async () => {
      const { http } = await make();
      expectError(await http.get(`/admin/v1/gc/${randomUUID()}`), 404, 'GC_RUN_UNKNOWN');
      expectError(await http.get('/admin/v1/gc/not-a-run'), 404, 'GC_RUN_UNKNOWN');
      expect((await http.get('/admin/v1/gc')).body).toEqual({ runs: [] });
    });

    it('400 GC_REQUEST_INVALID for a body that is not the expected JSON', async () => {
      const { http } = await make();
      for (const body of ['{"dryRun": "yes"}', '{"dryrun": true}', 'not json', '[]']) {
        const res = await http.post('/admin/v1/gc').set('Content-Type', 'application/json').send(body);
        expectError(res, 400, 'GC_REQUEST_INVALID');
      }
    });

    it('415 UNSUPPORTED for a body whose Content-Type is not JSON; an empty body of any type takes the defaults', async () => {
      const { http, driver } = await make();
      for (const [type, body] of [['text/plain', '{"dryRun": true}'], ['application/x-www-form-urlencoded', 'dryRun=true']] as const) {
        const res = await sendBytes(http.post('/admin/v1/gc').set('Content-Type', type), body);
        expect(expectError(res, 415, 'UNSUPPORTED')).toContain(`Content-Type "${type}" is not JSON`);
      }
      const empty = await sendBytes(http.post('/admin/v1/gc').set('Content-Type', 'text/plain'), '');
      expect(empty.status, empty.text).toBe(202);
      expect(await finished(http, driver, (empty.body as { id: string }).id)).toMatchObject({ dryRun: false, deleteUntagged: false });
    });

    it('Content-Encoding as elsewhere: 400 for bytes that are not the gzip they claim, 415 for an unknown encoding, 413 over 4096 bytes; gzip JSON is read', async () => {
      const { http, driver } = await make();
      const json = (encoding: string, body: Buffer | string) =>
        sendBytes(http.post('/admin/v1/gc').set('Content-Type', 'application/json').set('Content-Encoding', encoding), body);
      expect(expectError(await json('gzip', '{"dryRun": true}'), 400, 'UNSUPPORTED')).toContain('the request body cannot be read');
      expect(expectError(await json('x-unknown', '{"dryRun": true}'), 415, 'UNSUPPORTED')).toContain('application/json');
      expectError(await json('identity', JSON.stringify({ dryRun: true, pad: 'x'.repeat(5000) })), 413, 'SIZE_INVALID');
      const zipped = await json('gzip', gzipSync('{"dryRun": true}'));
      expect(zipped.status, zipped.text).toBe(202);
      expect(await finished(http, driver, (zipped.body as { id: string }).id)).toMatchObject({ dryRun: true, state: 'succeeded' });
    });

    it('405 UNSUPPORTED with Allow for other methods', async () => {
      const { http } = await make();
      const res = await http.delete('/admin/v1/gc');
      expectError(res, 405, 'UNSUPPORTED');
      expect(res.headers.allow).toBe('GET, POST');
      expect((await http.put(`/admin/v1/gc/${randomUUID()}`)).headers.allow).toBe('GET');
    });
  });
});
