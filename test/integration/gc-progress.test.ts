/**
 * A recorded garbage collection run stores its progress while it runs (src/gc/runs.ts): the phase,
 * the repositories and manifests the mark visited, and the blobs the sweep checked and deleted with
 * the bytes freed so far; its final record has the report and no progress.
 */
import { describe, expect, it } from 'vitest';
import { gcOptionsFrom } from '../../src/gc/options.js';
import type { GcProgress } from '../../src/gc/report.js';
import { GcRunRecords, startRecordedRun } from '../../src/gc/runs.js';
import { DriverDecorator } from '../../src/storage/driver-decorator.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { eventually, forEachDriver, pushBlob, pushImage } from './harness.js';

/** Holds every delete of a blob's data after the first until the test opens the gate. */
class GatedDeletes extends DriverDecorator {
  deletes = 0;
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));

  constructor(inner: StorageDriver) {
    super(inner);
  }

  open(): void {
    this.#open();
  }

  override async delete(path: string): Promise<void> {
    if (path.startsWith('/blobs/')) {
      this.deletes += 1;
      if (this.deletes > 1) await this.#gate;
    }
    return super.delete(path);
  }
}

forEachDriver((make) => {
  describe('garbage collection progress', () => {
    it('a running run’s record holds its phase and counts; the final record its report', async () => {
      const { http, driver, config } = await make({ gc: { grace: '0s' } });
      await pushImage(http, 'a/one', 'v1');
      await pushImage(http, 'b/two', 'v1');
      const orphans = [await pushBlob(http, 'a/one'), await pushBlob(http, 'b/two'), await pushBlob(http, 'b/two')];
      const gated = new GatedDeletes(driver);
      const { id, done } = await startRecordedRun(gated, { ...gcOptionsFrom(config.gc), lease: { settleMs: 10 }, progressIntervalMs: 5 });
      const records = new GcRunRecords(driver);
      let seen: GcProgress | null = null;
      await eventually(async () => {
        seen = (await records.get(id))!.progress;
        return seen?.phase === 'sweep' && seen.blobsDeleted === 1;
      }, 'the sweep’s progress stored while a delete is held');
      expect(seen).toMatchObject({ phase: 'sweep', repositories: 2, repositoriesVisited: 2, blobCandidates: 3, blobsDeleted: 1, bytesFreed: expect.any(Number) });
      expect(seen!.manifestsVisited).toBe(2);
      expect(seen!.blobsStored).toBeGreaterThanOrEqual(7); // two configs, two layers, two manifests, three orphans
      expect(seen!.blobsChecked).toBe(1);
      expect([orphans[0]!.size, orphans[1]!.size, orphans[2]!.size]).toContain(seen!.bytesFreed);
      gated.open();
      const final = await done;
      expect(final).toMatchObject({ state: 'succeeded', progress: null, report: { blobsDeleted: 3, bytesFreed: orphans.reduce((n, o) => n + o.size, 0) } });
      expect((await records.get(id))!.progress).toBeNull();
    });
  });
});
