/**
 * Notifications over `startServer` on a temporary filesystem root: the push, pull, mount and delete
 * events of a push and a pull in CNCF Distribution's envelope, signed (verified by the
 * `standardwebhooks` library in the receiver); the `ignore` rules; a receiver that is down while
 * Wharf restarts, which still gets every event once it is back, in order per repository; and pull
 * events kept in memory while the receiver keeps up, stored by a graceful stop.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { eventually, pushBlob, pushImage } from './harness.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver(SECRET);
  cleanups.push(() => r.close().catch(() => undefined));
  return r;
}

async function configFor(url: string, endpoint: Record<string, unknown> = {}, root?: string): Promise<Config> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), 'wharf-notify-')));
  if (!root) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return validate({
    log: { level: 'silent' },
    http: { addr: '127.0.0.1:0' },
    storage: { filesystem: { rootdirectory: dir }, delete: { enabled: true } },
    notifications: { events: { includereferences: true }, endpoints: [{ name: 'ci', url, secret: SECRET, timeout: '2s', threshold: 2, backoff: '50ms', ...endpoint }] },
  });
}

async function start(config: Config): Promise<RunningServer & { url: string }> {
  const running = await startServer(config, pino({ level: 'silent' }));
  let stopped = false;
  cleanups.push(async () => !stopped && running.stop());
  const stop = running.stop;
  return Object.assign(running, {
    url: `http://${running.address}`,
    stop: async () => {
      stopped = true;
      return stop();
    },
  });
}

const summary = (e: Record<string, unknown>) => {
  const t = e.target as Record<string, unknown>;
  return `${String(e.action)} ${String(t.repository)} ${String(t.mediaType ?? '-')} ${String(t.tag ?? t.digest)}`;
};

describe('notifications', () => {
  it("sends push, pull, mount and delete events in Distribution's envelope, signed", async () => {
    const r = await receiver();
    const s = await start(await configFor(r.url));
    const http = supertest(s.url);
    const image = await pushImage(http, 'team/app', 'v1');
    expect((await http.get('/v2/team/app/manifests/v1').set('User-Agent', 'test-client/1.0')).status).toBe(200);
    expect((await http.get(`/v2/team/app/blobs/${image.layers[0]!.digest}`)).status).toBe(200);
    expect((await http.post(`/v2/other/app/blobs/uploads/?mount=${image.layers[0]!.digest}&from=team/app`)).status).toBe(201);
    expect((await http.delete(`/v2/team/app/manifests/${image.digest}`)).status).toBe(202);
    const expected = [
      `push team/app application/octet-stream ${image.config.digest}`,
      ...image.layers.map((l) => `push team/app application/octet-stream ${l.digest}`),
      `push team/app ${image.mediaType} v1`,
      `pull team/app ${image.mediaType} v1`,
      `pull team/app application/octet-stream ${image.layers[0]!.digest}`,
      `mount other/app application/octet-stream ${image.layers[0]!.digest}`,
      `delete team/app - ${image.digest}`,
    ];
    await eventually(async () => r.events().length >= expected.length, 'every event delivered', 15_000);
    expect(r.events().map(summary)).toEqual(expected);
    for (const d of r.deliveries) {
      expect(d.verified).toBe(true);
      expect(d.headers['content-type']).toBe('application/vnd.docker.distribution.events.v2+json');
      expect(d.envelope.events.length).toBeGreaterThanOrEqual(1);
    }
    const [pushed, pulled] = r.events().filter((e) => (e.target as { tag?: string }).tag === 'v1');
    expect(pushed).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      action: 'push',
      target: {
        mediaType: image.mediaType,
        size: image.body.length,
        length: image.body.length,
        digest: image.digest,
        repository: 'team/app',
        url: `/v2/team/app/manifests/${image.digest}`,
        tag: 'v1',
        references: [image.config, ...image.layers].map((b) => expect.objectContaining({ digest: b.digest, size: b.size })),
      },
      request: { id: expect.any(String), addr: expect.stringMatching(/^127\.0\.0\.1:\d+$/), host: s.address, method: 'PUT' },
      actor: {},
      source: { addr: expect.stringMatching(/:0$/), instanceID: expect.any(String) },
    });
    expect(pulled).toMatchObject({ action: 'pull', request: { method: 'GET', useragent: 'test-client/1.0' } });
    expect(r.events().find((e) => e.action === 'mount')).toMatchObject({ target: { fromRepository: 'team/app', size: image.layers[0]!.size } });
    expect(r.events().at(-1)!.target).toEqual({ digest: image.digest, repository: 'team/app' });
    // the last batch leaves the queue just after its acknowledgement
    await eventually(async () => ((await http.get('/admin/v1/notifications')).body as { endpoints: { pending: number }[] }).endpoints[0]!.pending === 0, 'queue empty', 5000);
    const listed = await http.get('/admin/v1/notifications');
    expect(listed.body).toEqual({
      endpoints: [expect.objectContaining({ name: 'ci', url: `${new URL(r.url).origin}/…`, signed: true, pending: 0, delivering: true, consecutiveFailures: 0, lastAttempt: expect.objectContaining({ status: 202 }), lastFailure: null })],
    });
    // every acknowledged event is counted, the last ones stored within a second
    await eventually(async () => ((await http.get('/admin/v1/notifications')).body as { endpoints: { delivered: number }[] }).endpoints[0]!.delivered === r.events().length, 'delivered counted', 5000);
  });

  it('leaves out the events that ignore.actions and ignoredmediatypes name', async () => {
    const r = await receiver();
    const s = await start(await configFor(r.url, { ignore: { actions: ['pull'] }, ignoredmediatypes: ['application/octet-stream'] }));
    const http = supertest(s.url);
    await pushImage(http, 'team/app', 'v1');
    await http.get('/v2/team/app/manifests/v1');
    await eventually(async () => r.events().length >= 1, 'the manifest push delivered', 10_000);
    await s.stop();
    expect(r.events().map((e) => e.action)).toEqual(['push']);
  });

  it('delivers every event after the receiver was down while Wharf restarted: at least once, in order per repository', async () => {
    const r = await receiver();
    await r.down();
    const root = await mkdtemp(join(tmpdir(), 'wharf-notify-restart-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const config = await configFor(r.url, {}, root);
    const first = await start(config);
    const http = supertest(first.url);
    const pushed: string[] = [];
    for (const repo of ['a/one', 'b/two']) {
      for (let i = 0; i < 3; i++) pushed.push(`${repo} ${(await pushBlob(http, repo, randomBytes(100 + i))).digest}`);
    }
    await eventually(async () => ((await http.get('/admin/v1/notifications')).body as { endpoints: { consecutiveFailures: number }[] }).endpoints[0]!.consecutiveFailures > 2, 'failed attempts reported', 10_000);
    const report = (await http.get('/admin/v1/notifications')).body as { endpoints: Record<string, unknown>[] };
    expect(report.endpoints[0]).toMatchObject({ pending: 6, lastSuccess: null, lastAttempt: { status: null, error: expect.stringContaining('ECONNREFUSED') } });
    // a pull's event is stored after the answer (with the pulls of the next milliseconds): the stop writes it
    const pulledDigest = pushed.at(-1)!.split(' ')[1]!;
    expect((await http.get(`/v2/b/two/blobs/${pulledDigest}`)).status).toBe(200);
    await first.stop();

    const second = await start(config);
    const again = supertest(second.url);
    pushed.push(`a/one ${(await pushBlob(again, 'a/one', randomBytes(300))).digest}`);
    await r.up();
    await eventually(async () => new Set(r.events().map((e) => e.id)).size >= pushed.length + 1, 'every event delivered after the restart', 20_000);
    const got = r.events().map((e) => `${String((e.target as { repository: string }).repository)} ${String((e.target as { digest: string }).digest)}`);
    for (const repo of ['a/one', 'b/two']) expect(unique(got.filter((g) => g.startsWith(repo)))).toEqual(pushed.filter((p) => p.startsWith(repo)));
    const bTwo = r.events().filter((e) => (e.target as { repository: string }).repository === 'b/two');
    expect(unique(bTwo.map((e) => `${String(e.action)} ${String((e.target as { digest: string }).digest)}`)).at(-1)).toBe(`pull ${pulledDigest}`);
    expect(r.deliveries.every((d) => d.verified)).toBe(true);
    await eventually(async () => ((await again.get('/admin/v1/notifications')).body as { endpoints: { pending: number }[] }).endpoints[0]!.pending === 0, 'queue empty', 5000);
    await eventually(async () => ((await again.get('/admin/v1/notifications')).body as { endpoints: { delivered: number }[] }).endpoints[0]!.delivered === pushed.length + 1, 'delivered counted', 5000);
    const recovered = ((await again.get('/admin/v1/notifications')).body as { endpoints: Record<string, unknown>[] }).endpoints[0];
    // the failure before the restart stays on record after deliveries succeed again
    expect(recovered).toMatchObject({ consecutiveFailures: 0, lastFailure: { status: null, error: expect.stringContaining('ECONNREFUSED') } });
  });

  it('keeps pull events in memory while the receiver keeps up, and stores them at a graceful stop: the next run delivers them in order', async () => {
    const r = await receiver();
    const root = await mkdtemp(join(tmpdir(), 'wharf-notify-stop-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const config = await configFor(r.url, { timeout: '30s' }, root);
    const first = await start(config);
    const http = supertest(first.url);
    const blob = await pushBlob(http, 'a/one', randomBytes(100));
    await eventually(async () => r.events().length === 1, 'the push delivered', 10_000);
    r.hold(); // the receiver is slow: the next POST stays under way
    for (let i = 0; i < 3; i++) expect((await http.get(`/v2/a/one/blobs/${blob.digest}`)).status).toBe(200);
    await eventually(async () => ((await http.get('/admin/v1/notifications')).body as { endpoints: { pending: number }[] }).endpoints[0]!.pending === 3, 'the pulls pending', 5000);
    const queueFolder = join(root, '_notifications', 'ci', 'queue');
    const stored = () => readdir(queueFolder).catch(() => []);
    expect(await stored()).toEqual([]); // the pulls are in memory only
    await first.stop();
    r.answer(); // too late: the stopped delivery gave its POST up
    expect((await stored()).length).toBeGreaterThan(0);

    await start(config);
    await eventually(async () => r.events().length >= 4, 'the pulls delivered after the restart', 15_000);
    expect(r.events().map((e) => `${String(e.action)} ${String((e.target as { digest: string }).digest)}`)).toEqual([`push ${blob.digest}`, ...Array.from({ length: 3 }, () => `pull ${blob.digest}`)]);
    await eventually(async () => (await stored()).length === 0, 'the queue emptied', 5000);
  });
});

/** `items` without repeats, first occurrences in order. */
function unique(items: string[]): string[] {
  return [...new Set(items)];
}
