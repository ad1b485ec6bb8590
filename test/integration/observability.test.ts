/**
 * Running Wharf in production (issue 16), over `startServer` on a temporary filesystem root: the
 * metrics on the debug listener parsed with a Prometheus text parser, bounded series, /livez and
 * /readyz with authentication on, /readyz failing with the storage and during a drain, a push in
 * flight finishing during the drain, `http.headers` and `http.host`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { Scrape } from '../support/prometheus.js';
import { htpasswdLine } from './auth-harness.js';
import { pushBlob, pushImage, sha256 } from './harness.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts Wharf on a fresh root with `extra` merged into the configuration. */
async function start(extra: Record<string, unknown> = {}, http: Record<string, unknown> = {}): Promise<RunningServer & { root: string; url: string; debugUrl: string }> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-obs-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const config = validate({
    log: { level: 'silent' },
    http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0', prometheus: { enabled: true } }, ...http },
    storage: { filesystem: { rootdirectory: join(root, 'data') }, delete: { enabled: true } },
    ...extra,
  });
  const running = await startServer(config, pino({ level: 'silent' }));
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) await running.stop();
  });
  const stop = running.stop;
  running.stop = async () => {
    stopped = true;
    return stop();
  };
  return Object.assign(running, { root, url: `http://${running.address}`, debugUrl: `http://${running.debugAddress}` });
}

async function scrape(debugUrl: string): Promise<Scrape> {
  const res = await fetch(`${debugUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(await res.text());
}

describe('/metrics on the debug listener', () => {
  it("counts a push's and a pull's requests, bytes and storage actions, with Distribution's names", async () => {
    const s = await start();
    const http = supertest(s.url);
    const layer = randomBytes(300_000);
    await pushBlob(http, 'team/app', layer);
    const image = await pushImage(http, 'team/app', 'v1');
    expect((await http.get('/v2/team/app/manifests/v1')).status).toBe(200);
    expect((await http.get(`/v2/team/app/blobs/${sha256(layer)}`)).status).toBe(200);

    const m = await scrape(s.debugUrl);
    const manifest = { handler: 'manifest', route: '/v2/{name}/manifests/{reference}' };
    expect(m.value('registry_http_requests_total', { ...manifest, method: 'PUT', code: '201' })).toBe(1);
    expect(m.value('registry_http_requests_total', { ...manifest, method: 'GET', code: '200' })).toBe(1);
    expect(m.value('registry_http_requests_total', { handler: 'blob_upload', method: 'POST', code: '202' })).toBe(1 + 1 + image.layers.length);
    expect(m.value('registry_http_request_duration_seconds', { ...manifest, method: 'GET' })).toBe(1);
    const uploaded = layer.length + image.config.size + image.layers.reduce((n, l) => n + l.size, 0);
    expect(m.value('wharf_upload_bytes_total')).toBe(uploaded);
    expect(m.value('registry_http_request_size_bytes', { handler: 'blob_upload_chunk' }, 'sum')).toBeGreaterThanOrEqual(uploaded);
    expect(m.value('wharf_blob_bytes_served_total')).toBe(layer.length);
    expect(m.value('registry_http_response_size_bytes', { handler: 'blob' }, 'sum')).toBe(layer.length);
    expect(m.value('registry_storage_action_seconds', { driver: 'filesystem', action: 'PutContent' })).toBeGreaterThan(0);
    expect(m.value('registry_storage_action_seconds', { driver: 'filesystem', action: 'Append' })).toBe(1 + 1 + image.layers.length);
    expect(m.value('registry_http_in_flight_requests')).toBe(0);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('keeps the number of series when 10,000 distinct repository names are requested', async () => {
    const s = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(async () => agent.destroy());
    const get = (path: string, method = 'GET') =>
      new Promise<number>((resolve, reject) => {
        request(`${s.url}${path}`, { method, agent }, (res: IncomingMessage) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
          .on('error', reject)
          .end();
      });
    const round = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, to - i) }, (_, j) => {
            const name = `load/repo-${i + j}`;
            return i + j < 10 ? Promise.all([get(`/v2/${name}/manifests/latest`), get(`/v2/${name}/tags/list`), get(`/v2/${name}/blobs/sha256:${'0'.repeat(64)}`, 'HEAD')]) : get(`/v2/${name}/manifests/latest`);
          }),
        );
      }
    };
    await round(0, 10);
    const before = await scrape(s.debugUrl);
    await round(10, 10_010);
    const after = await scrape(s.debugUrl);
    // Node's own process metrics (nodejs_*, process_*) vary by themselves; the registry's must not
    for (const prefix of ['registry_', 'wharf_']) expect(after.seriesCount(prefix)).toBe(before.seriesCount(prefix));
    expect(after.value('registry_http_requests_total', { handler: 'manifest', code: '404' })).toBe(10_010);
    const routes = new Set(after.labelSets('registry_http_requests_total').map((l) => l.route));
    expect([...routes].every((r) => !r!.includes('repo-'))).toBe(true);
  }, 120_000);
});

describe('/livez and /readyz', () => {
  it('answer without credentials when authentication is on, on both listeners', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-obs-auth-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'htpasswd'), `${htpasswdLine('alice', 'alice-pw')}\n`);
    const s = await start({ auth: { htpasswd: { path: join(dir, 'htpasswd') } } });
    expect((await fetch(`${s.url}/v2/`)).status).toBe(401);
    for (const base of [s.url, s.debugUrl]) {
      const live = await fetch(`${base}/livez`);
      expect([live.status, await live.json()]).toEqual([200, { status: 'ok' }]);
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ok', checks: { storage: 'ok', shutdown: 'ok' } }]);
    }
  });

  it('/readyz goes 503 while the storage root cannot be written, and 200 again once it can', async () => {
    const s = await start({ health: { storagedriver: { interval: '1h', threshold: 2 } } });
    const data = join(s.root, 'data');
    await rename(data, `${data}.away`);
    await writeFile(data, 'not a directory'); // root bypasses permissions: a file in the root's place is unwritable for everyone
    await s.health.probe();
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200); // 1 failure < threshold 2
    await s.health.probe();
    const down = await fetch(`${s.url}/readyz`);
    expect([down.status, await down.json()]).toEqual([503, { status: 'unavailable', checks: { storage: '2 consecutive write probes failed', shutdown: 'ok' } }]);
    expect((await fetch(`${s.url}/livez`)).status).toBe(200);
    await rm(data);
    await rename(`${data}.away`, data);
    await s.health.probe();
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
  });

  it('health.file takes a replica out of rotation while the file exists', async () => {
    const flag = join(tmpdir(), `wharf-out-of-rotation-${randomBytes(4).toString('hex')}`);
    const s = await start({ health: { file: [{ file: flag }] } });
    expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    await writeFile(flag, '');
    cleanups.push(() => rm(flag, { force: true }));
    expect(await (await fetch(`${s.url}/readyz`)).json()).toMatchObject({ status: 'unavailable', checks: { 'file.0': 'health.file[0] exists' } });
  });
});

describe('graceful stop', () => {
  it('answers /readyz 503, serves the rest of a push (each request on a new connection, as docker sends them), then closes', async () => {
    const s = await start({}, { draintimeout: '20s' });
    const http = supertest(s.url);
    const started = await http.post('/v2/drain/app/blobs/uploads/');
    expect(started.status).toBe(202);
    const body = randomBytes(2 * 1024 * 1024);
    const patch = request(`${s.url}${started.headers.location}`, { method: 'PATCH', agent: false, headers: { 'Content-Type': 'application/octet-stream' } });
    const answered = new Promise<number>((resolve, reject) => patch.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
    patch.write(body.subarray(0, 1024 * 1024));
    await new Promise((r) => setTimeout(r, 100)); // the first half is on its way when the stop begins
    let stopped = false;
    const stopping = s.stop().then((inTime) => ((stopped = true), inTime));
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${s.debugUrl}/readyz`)).status).toBe(503);
    expect((await fetch(`${s.url}/readyz`)).status).toBe(503);
    patch.end(body.subarray(1024 * 1024));
    expect(await answered).toBe(202);
    const digest = sha256(body);
    const put = await new Promise<number>((resolve, reject) =>
      request(`${s.url}${started.headers.location}?digest=${digest}`, { method: 'PUT', agent: false }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
        .on('error', reject)
        .end(),
    );
    expect(put).toBe(201);
    expect(stopped).toBe(false);
    expect(await stopping).toBe(true);
    await expect(fetch(`${s.url}/v2/`)).rejects.toThrow();
  });

  it('cuts what is still in flight when http.draintimeout passes', async () => {
    const s = await start({}, { draintimeout: '300ms' });
    const started = await supertest(s.url).post('/v2/drain/app/blobs/uploads/');
    const patch = request(`${s.url}${started.headers.location}`, { method: 'PATCH', agent: false });
    const failed = new Promise<boolean>((resolve) => patch.on('error', () => resolve(true)).on('response', () => resolve(false)));
    patch.write(randomBytes(1024));
    await new Promise((r) => setTimeout(r, 50));
    expect(await s.stop()).toBe(false);
    expect(await failed).toBe(true);
  });
});

describe('http.headers and http.host', () => {
  it('adds the configured headers and builds Location URLs from http.host', async () => {
    const s = await start({}, { headers: { 'X-Content-Type-Options': ['nosniff'] }, host: 'https://registry.example.com' });
    const res = await supertest(s.url).post('/v2/team/app/blobs/uploads/');
    expect(res.status).toBe(202);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers.location).toMatch(/^https:\/\/registry\.example\.com\/v2\/team\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
  });

  it('with relativeurls: false and no host, from the request (a reverse proxy: X-Forwarded-Proto)', async () => {
    const s = await start({}, { relativeurls: false });
    const res = await supertest(s.url).post('/v2/team/app/blobs/uploads/').set('X-Forwarded-Proto', 'https').set('Host', 'reg.local:8443');
    expect(res.headers.location).toMatch(/^https:\/\/reg\.local:8443\/v2\/team\/app\/blobs\/uploads\//);
  });
});
