/**
 * A graceful stop of the server stops the garbage collection run its process has under way (an
 * admin API run or a scheduled one) instead of leaving it "running" with its lease held until
 * expiry (every POST /admin/v1/gc then answered 409 for up to a minute after a restart): the run ends
 * at its next step, its record says failed and why, its lease is released, nothing more is deleted.
 */
import { describe, expect, it } from 'vitest';
import { gcOptionsFrom } from '../../src/gc/options.js';
import { isActive, readLease } from '../../src/gc/protocol.js';
import { runningGc, stopRunningGc } from '../../src/gc/running.js';
import { startRecordedRun } from '../../src/gc/runs.js';
import { GatedDriver } from './gc-helpers.js';
import { eventually, expectError, forEachDriver, pushBlob, pushImage, TEST_GC_TIMING } from './harness.js';

forEachDriver((make) => {
  describe('stopping the garbage collection run under way', () => {
    for (const dryRun of [false, true]) {
      it(`a ${dryRun ? 'dry' : 'deleting'} run ends at its next step: record failed with the reason, lease released, nothing deleted, the next run starts`, async () => {
        const { http, driver, config } = await make({ gc: { grace: '0s' } });
        const orphan = await pushBlob(http, 'repo');
        await pushImage(http, 'repo', 'v1');
        const gated = new GatedDriver(driver);
        const under = await startRecordedRun(gated, { ...gcOptionsFrom(config.gc, { dryRun, deleteUntagged: true }), ...TEST_GC_TIMING });
        expect(runningGc(driver)?.runId).toBe(under.id);
        if (!dryRun) expect(isActive(await readLease(driver), Date.now())).toBe(true);

        const stopped = stopRunningGc(driver, 'the server is stopping');
        gated.open(); // the run was held in its first listing of the blob store
        await stopped;
        const record = await under.done;
        expect(record).toMatchObject({ id: under.id, state: 'failed', report: null });
        expect(record.error).toContain(`garbage collection run ${under.id} stopped (the server is stopping): nothing more was deleted; start it again`);
        expect((await http.get(`/admin/v1/gc/${under.id}`)).body).toMatchObject({ state: 'failed' });
        expect(runningGc(driver)).toBeUndefined();
        expect(isActive(await readLease(driver), Date.now())).toBe(false);
        expect((await http.get(`/v2/repo/blobs/${orphan.digest}`)).status).toBe(200);

        const next = await http.post('/admin/v1/gc').send({});
        expect(next.status, next.text).toBe(202);
        await eventually(async () => (await http.get(`/admin/v1/gc/${(next.body as { id: string }).id}`)).body.state === 'succeeded', 'the next run to succeed');
      });
    }

    it('with no run under way it resolves at once', async () => {
      const { driver, http } = await make();
      await stopRunningGc(driver, 'the server is stopping');
      expectError(await http.get('/admin/v1/gc/00000000-0000-4000-8000-000000000000'), 404, 'GC_RUN_UNKNOWN');
    });
  });
});
