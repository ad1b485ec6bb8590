/**
 * The admin index across real processes (docs/admin-api.md, "The index"): two `wharf serve`
 * processes on one storage (a filesystem root, then one S3 bucket) and a `wharf gc` in a process of
 * its own. Each process's admin API follows the others' pushes, deletes and collections within the
 * stated bound, `admin.index.poll` plus two seconds, and answers exactly what a full recomputation
 * from the storage gives (test/integration/index-helpers.ts); a process started later loads the
 * snapshot and replays the journal instead of walking the registry.
 */
import { createHash, randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { StorageDriver } from '../../src/storage/driver.js';
import { createDriver } from '../../src/storage/factory.js';
import { expectedIndex, type IndexAnswer } from '../integration/index-helpers.js';
import { startS3, wharfS3Env, type RunningS3 } from '../support/s3.js';
import { removeDir, run, startWharf, tempDir, waitFor, WHARF_MAIN, type WharfServer } from './helpers.js';

const POLL_MS = 500;
/** The bound docs/admin-api.md states: the poll interval plus two seconds. */
const BOUND_MS = POLL_MS + 2000;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** What a process's admin API answers: every repository and the storage totals. */
type Answer = IndexAnswer;

async function answered(server: WharfServer): Promise<Answer> {
  const list = await fetch(`${server.url}/admin/v1/repositories`);
  expect(list.status, server.logs().slice(-2000)).toBe(200);
  const storage = await fetch(`${server.url}/admin/v1/storage`);
  expect(storage.status).toBe(200);
  const { blobs, repositories, tags, manifests } = (await storage.json()) as Answer['totals'] & { blobs: Answer['blobs'] };
  return { repositories: ((await list.json()) as Answer).repositories, blobs, totals: { repositories, tags, manifests } };
}

/** Pushes a blob to `name` in one POST + PUT. */
async function pushBlob(server: WharfServer, name: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const opened = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(opened.status).toBe(202);
  const url = new URL(opened.headers.get('location')!, server.url);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
  expect(put.status, await put.text()).toBe(201);
  return digest;
}

/** Pushes an image of a fresh config and `layers` (new random layers when not given) as `reference`. */
async function pushImage(server: WharfServer, name: string, reference: string, layers: Buffer[] = [randomBytes(3000), randomBytes(5000)]): Promise<{ digest: string; layers: Buffer[] }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  for (const blob of [config, ...layers]) await pushBlob(server, name, blob);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
    }),
  );
  const put = await fetch(`${server.url}/v2/${name}/manifests/${reference}`, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST }, body: manifest });
  expect(put.status, await put.text()).toBe(201);
  return { digest: sha256(manifest), layers };
}

/**
 * Checks that `server` answers exactly what the storage holds (recomputed through `driver`) within the
 * bound of the change's end (the call). Its answers are polled from the call on while the
 * recomputation runs (reading every object takes seconds on S3), so the lag is when the first answer
 * equal to the recomputation came, not when the recomputation ended.
 * @returns the ms it took
 */
async function agrees(server: WharfServer, driver: StorageDriver, step: string): Promise<number> {
  const start = Date.now();
  const answers: { at: number; answer: Answer }[] = [];
  let recomputed = false;
  let expected: Answer | undefined;
  const polling = (async () => {
    while (!recomputed || Date.now() - start <= BOUND_MS) {
      const answer = await answered(server);
      answers.push({ at: Date.now(), answer });
      if (recomputed && isDeepStrictEqual(answers.at(-1)!.answer, expected)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    expected = await expectedIndex(driver);
  } finally {
    recomputed = true;
  }
  await polling;
  const last = answers.at(-1)!;
  expect(last.answer, `${step}: ${server.url} within ${BOUND_MS} ms`).toEqual(expected);
  let first = answers.length - 1; // the first of the equal answers that end the list
  while (first > 0 && isDeepStrictEqual(answers[first - 1]!.answer, expected)) first -= 1;
  return answers[first]!.at - start;
}

async function indexState(server: WharfServer): Promise<{ state: string; source: string | null }> {
  return (await (await fetch(`${server.url}/admin/v1/index`)).json()) as { state: string; source: string | null };
}

/** Writes one line of progress to stderr: the steps take seconds each on a loaded machine, and a timeout shows where. */
function progress(label: string, started: number, what: string): void {
  process.stderr.write(`[admin-index e2e] ${label}, ${((Date.now() - started) / 1000).toFixed(1)} s: ${what}\n`);
}

/** One storage shared by the processes: what `wharf serve` and `wharf gc` get in their environment, and a driver to recompute from. */
interface SharedStorage {
  env: Record<string, string>;
  driver: StorageDriver;
  dispose(): Promise<void>;
}

function processes(label: string, storage: () => Promise<SharedStorage>): void {
  describe(`processes on one ${label}`, () => {
    const servers: WharfServer[] = [];
    let shared: SharedStorage | undefined;
    afterAll(async () => {
      for (const s of servers) await s.dispose();
      await shared?.dispose();
    });

    it('follow each other within admin.index.poll plus two seconds, a `wharf gc` process included; a later process starts from the snapshot', async () => {
      const started = Date.now();
      const step = (what: string) => progress(label, started, what);
      shared = await storage();
      const { env, driver } = shared;
      step('storage ready');
      const start = async () => {
        // generous start-up deadlines: on S3 (Ceph RGW) a loaded 2-core machine takes tens of seconds
        const server = await startWharf({ storageEnv: env, env: { WHARF_ADMIN_INDEX_POLL: `${POLL_MS}ms` }, readyTimeoutMs: 120_000 });
        servers.push(server);
        await waitFor(`${server.url}'s admin index`, async () => (await indexState(server)).state === 'ready', { timeoutMs: 120_000 });
        return server;
      };
      const a = await start();
      const b = await start();
      step('A and B serving, their indexes ready');
      const lags: number[] = [];

      const app = await pushImage(a, 'team/app', '1.0');
      await pushImage(a, 'team/app', '1.1', [app.layers[0]!]);
      await pushImage(a, 'team/other', 'v1', app.layers); // the same layers in two repositories: shared bytes
      await pushImage(a, 'team/app', 'old'); // tagged now, untagged below
      await pushBlob(a, 'team/app', randomBytes(700)); // an orphan blob
      lags.push(await agrees(a, driver, 'A after its own pushes'), await agrees(b, driver, "B after A's pushes"));
      step(`pushed to A; A, then B agree (${lags.join(', ')} ms)`);

      expect((await fetch(`${b.url}/admin/v1/repositories/team/app/tags/old`, { method: 'DELETE' })).status).toBe(202);
      await pushImage(b, 'team/other', 'v1'); // a tag move: team/other no longer shares A's layers
      expect((await fetch(`${b.url}/v2/team/app/manifests/1.1`, { method: 'DELETE' })).status).toBe(202);
      lags.push(await agrees(b, driver, 'B after its own changes'), await agrees(a, driver, "A after B's tag delete, tag move and untag"));
      step(`changed on B; B, then A agree (${lags.slice(-2).join(', ')} ms)`);

      const gc = await run(process.execPath, [WHARF_MAIN, 'gc', '--delete-untagged', '--grace', '0s', '--json'], {
        env: { ...process.env, ...env, WHARF_LOG_LEVEL: 'error' },
      });
      // the untagged manifests (team/app's old and 1.1, team/other's first v1), their configs, old's layers and the orphan
      expect(JSON.parse(gc.stdout) as object).toMatchObject({ manifestsDeleted: 3, blobsDeleted: 9 });
      lags.push(await agrees(a, driver, 'A after the `wharf gc` process'), await agrees(b, driver, 'B after the `wharf gc` process'));
      step(`\`wharf gc\` ran; A and B agree (${lags.slice(-2).join(', ')} ms)`);

      expect((await fetch(`${a.url}/admin/v1/repositories/team/other`, { method: 'DELETE' })).status).toBe(202);
      await a.stop(); // a graceful stop writes what its journal holds
      const c = await start();
      expect(await indexState(c)).toMatchObject({ state: 'ready', source: 'snapshot' });
      lags.push(await agrees(c, driver, 'C, started from the snapshot and the journal'), await agrees(b, driver, "B after A's repository delete"));
      step(`C started from the snapshot; C and B agree (${lags.slice(-2).join(', ')} ms)`);
      expect(Math.max(...lags)).toBeLessThanOrEqual(BOUND_MS);
    }, 600_000);
  });
}

processes('filesystem root', async () => {
  const dir = await tempDir('wharf-e2e-index-');
  const env = { WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: `${dir}/storage` };
  return { env, driver: await createDriver(loadConfig(undefined, env).storage), dispose: () => removeDir(dir) };
});

processes('S3 bucket', async () => {
  const s3: RunningS3 = await startS3({ bucket: 'index-processes' });
  const env = wharfS3Env(s3, 'shared');
  return { env, driver: await createDriver(loadConfig(undefined, env).storage), dispose: () => s3.stop() };
});
