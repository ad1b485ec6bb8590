/**
 * The scale bench's soak: cycles of mixed traffic on a running Wharf (pushes of new images, tag moves
 * and deletes that leave every other image untagged, pulls, admin pages sorted and filtered, a tag
 * page, and a garbage collection through the admin API, dry and real in turn), with the server's
 * resident memory after each cycle, settled: a server whose memory goes back ends the soak about
 * where its first cycle left it.
 */
import { expect } from '../http.js';
import type { Results } from '../report.js';
import type { ServerUnderTest } from '../servers.js';
import { MANIFEST_ACCEPT, pushSmallImage, putManifest } from '../workloads.js';
import { settledRss, timed } from './measure.js';

/** Runs a garbage collection through the admin API and waits for it (dry or real). */
async function collect(base: string, dryRun: boolean): Promise<void> {
  const started = await expect(202, `${base}/admin/v1/gc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ dryRun, deleteUntagged: true }) });
  const { id } = JSON.parse(started.body.toString('utf8')) as { id: string };
  for (;;) {
    const record = JSON.parse((await expect(200, `${base}/admin/v1/gc/${id}`)).body.toString('utf8')) as { state: string; error: string | null };
    if (record.state === 'failed') throw new Error(`GC run ${id} failed: ${record.error}`);
    if (record.state === 'succeeded') return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * `cycles` cycles of mixed traffic; records `soak-first` and `soak-last` (RSS after the first and the
 * last cycle, MiB) and `soak-growth`.
 */
export async function soak(server: ServerUnderTest, cycles: number, results: Results, log: (message: string) => void): Promise<void> {
  const base = server.url;
  let first = 0;
  let last = 0;
  for (let cycle = 1; cycle <= cycles; cycle++) {
    for (let i = 0; i < 10; i++) {
      const image = await pushSmallImage(base, `soak/c${cycle}r${i}`);
      await putManifest(base, image.repository, 'moved', image.manifest);
      await expect(200, `${base}/v2/${image.repository}/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } });
      for (const blob of image.blobs) await expect(200, `${base}/v2/${image.repository}/blobs/${blob}`, { discard: true });
      await expect(202, `${base}/v2/${image.repository}/manifests/moved`, { method: 'DELETE' });
      // every other image left untagged: garbage for the cycle's collection when it deletes untagged manifests
      if (i % 2 === 1) await expect(202, `${base}/v2/${image.repository}/manifests/latest`, { method: 'DELETE' });
    }
    for (const query of ['n=100', 'n=100&sort=total&order=desc', 'n=100&q=soak', 'n=100&sort=lastPush&order=desc']) await timed(`${base}/admin/v1/repositories?${query}`);
    await timed(`${base}/admin/v1/repositories/soak/c${cycle}r0/tags?n=100`);
    await collect(base, cycle % 2 === 1);
    const rss = await settledRss(server.pid, 2000);
    if (cycle === 1) first = rss;
    last = rss;
    log(`soak cycle ${cycle}: RSS ${rss.toFixed(0)} MiB`);
  }
  results.add('soak-first', 'wharf', first);
  results.add('soak-last', 'wharf', last);
  results.add('soak-growth', 'wharf', last - first);
}
