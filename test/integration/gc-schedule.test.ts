/** Scheduled garbage collection (`gc.interval`): `startServer` runs retention and GC on its own, recorded like on-demand runs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import type { GcRunRecord } from '../../src/gc/runs.js';
import { startServer } from '../../src/server.js';
import { capturingLogger, eventually, pushBlob, pushImage } from './harness.js';

it('gc.interval: the server collects on its own; an orphan blob goes, a tagged image stays', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-sched-'));
  const settings = (gc: Record<string, string>) =>
    validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { filesystem: { rootdirectory: root } }, gc });
  // pushed before the schedule starts: with grace 0s a run every 100 ms may sweep a blob of a push in
  // progress (the push then fails cleanly, as documented), which a loaded machine makes likely
  const before = await startServer(settings({ grace: '0s' }), pino({ level: 'silent' }));
  const image = await pushImage(supertest(before.server), 'repo', 'v1');
  const orphan = await pushBlob(supertest(before.server), 'repo');
  await before.stop();
  const running = await startServer(settings({ grace: '0s', interval: '100ms' }), pino({ level: 'silent' }));
  const http = supertest(running.server);
  try {
    // polled through the run records: a HEAD of the blob during a run would touch it and keep it
    const swept = async () => ((await http.get('/admin/v1/gc')).body as { runs: GcRunRecord[] }).runs.some((r) => r.state === 'succeeded' && r.report!.blobsDeleted === 1);
    await eventually(swept, 'a scheduled run to sweep the orphan blob', 10_000);
    expect((await http.head(`/v2/repo/blobs/${orphan.digest}`)).status).toBe(404);
    expect((await http.get(`/v2/repo/blobs/${image.layers[0]!.digest}`)).status).toBe(200);
  } finally {
    await running.stop(); // also waits for a scheduled run under way
    await rm(root, { recursive: true, force: true });
  }
});

it('start-up logs a warning for each risky gc setting, naming the key and what it does, and serves anyway', async () => {
  const config = validate({
    http: { addr: '127.0.0.1:0' },
    storage: { inmemory: {} },
    gc: { uploadpurge: { age: '0s' }, retention: [{ name: 'ci/*', keeplast: 0 }] },
  });
  const { logger, lines } = capturingLogger();
  const running = await startServer(config, logger);
  try {
    const warnings = lines.filter((l) => l.level === 40 && String(l.key).startsWith('gc.')); // besides the one that the registry has no auth
    expect(warnings.map((l) => l.key)).toEqual(['gc.uploadpurge.age', 'gc.retention.0.keeplast']);
    expect(warnings[1]!.msg).toBe('config key "gc.retention.0.keeplast" is 0: keeps no tag by recency; each run deletes every tag in repositories matching "ci/*"');
    expect((await supertest(running.server).get('/v2/')).status).toBe(200);
  } finally {
    await running.stop();
  }
});
