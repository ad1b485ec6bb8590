/**
 * What an adversarial review found, kept as tests: races between pushes and deletes, mounts of
 * unlinked bytes, stalled clients, Node-level protocol errors, and what reaches the log.
 */
import { createServer, request as httpRequest } from 'node:http';
import { pino } from 'pino';
import supertest from 'supertest';
import { expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { capturingLogger, eventually, expectError, forEachDriver, pushBlob, pushImage, putManifest, raw, rawExchange, sha256, testConfig } from './harness.js';


forEachDriver((make) => {
  it('a tag pushed while its manifest is deleted by digest never dangles', async () => {
    const { http } = await make();
    const image = await pushImage(http, 'race/app', 'base', { layers: 1 });
    for (let round = 0; round < 15; round++) {
      await putManifest(http, 'race/app', image.digest, image.body, image.mediaType).expect(201);
      const [put, del] = await Promise.all([
        putManifest(http, 'race/app', `t${round}`, image.body, image.mediaType),
        http.delete(`/v2/race/app/manifests/${image.digest}`),
      ]);
      expect(put.status).toBe(201);
      expect([202, 404]).toContain(del.status);
      const tags = (await http.get('/v2/race/app/tags/list')).body.tags as string[];
      for (const tag of tags) {
        const res = await http.get(`/v2/race/app/manifests/${tag}`);
        expect(res.status, `tag ${tag} is listed but does not resolve`).toBe(200);
      }
    }
  });

  it('a mount without from never brings back bytes that no repository links', async () => {
    const { http } = await make();
    const secret = await pushBlob(http, 'priv/x', Buffer.from('secret'));
    await http.delete(`/v2/priv/x/blobs/${secret.digest}`).expect(202);
    const mount = await http.post(`/v2/thief/y/blobs/uploads/?mount=${secret.digest}`);
    expect(mount.status).toBe(202);
    expectError(await http.get(`/v2/thief/y/blobs/${secret.digest}`), 404, 'NAME_UNKNOWN');
    const linked = await pushBlob(http, 'pub/z', Buffer.from('shared'));
    const ok = await http.post(`/v2/other/w/blobs/uploads/?mount=${linked.digest}`);
    expect(ok.status).toBe(201);
    expect((await raw(http.get(`/v2/other/w/blobs/${linked.digest}`))).body.toString()).toBe('shared');
  });

  it('a stalled upload is cut after http.idletimeout and frees its session', async () => {
    const { http, url } = await make({ idleTimeout: '300ms' });
    const started = await http.post('/v2/stall/app/blobs/uploads/').expect(202);
    const location = started.headers.location as string;
    const stalled = rawExchange(
      url,
      `PATCH ${location} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(1000)}`,
      false,
    );
    await stalled;
    const status = await http.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-999');
    const next = await http.patch(location).set('Content-Type', 'application/octet-stream').set('Content-Range', '1000-1000').send(Buffer.from('y'));
    expect(next.status).toBe(202);
  });

  it('protocol errors that Node answers itself are the spec JSON too', async () => {
    const { url } = await make();
    const huge = await rawExchange(url, `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge).toContain('Content-Type: application/json');
    expect(JSON.parse(huge.slice(huge.indexOf('\r\n\r\n') + 4)).errors[0].code).toBe('UNSUPPORTED');
    const garbage = await rawExchange(url, 'NOT A REQUEST\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4)).errors[0].message).toBe('malformed HTTP request');
  });

  it('neither Authorization headers, cookies nor query strings reach the log', async () => {
    const { logger, lines } = capturingLogger();
    const { http } = await make({ logger });
    await http.get('/v2/_catalog?token=QUERYSECRET').set('Authorization', 'Bearer HEADERSECRET').set('Cookie', 'c=COOKIESECRET').expect(200);
    const text = JSON.stringify(lines);
    expect(lines.some((l) => (l.req as { path?: string } | undefined)?.path === '/v2/_catalog')).toBe(true);
    expect(text).not.toMatch(/QUERYSECRET|HEADERSECRET|COOKIESECRET/);
  });

  it('deletes disabled: 405 carries Allow without DELETE', async () => {
    const { http } = await make({ deleteEnabled: false });
    const image = await pushImage(http, 'ro/app', 'v1', { layers: 1 });
    const res = await http.delete(`/v2/ro/app/manifests/${image.digest}`);
    expectError(res, 405, 'UNSUPPORTED');
    expect(res.headers.allow).toBe('GET, HEAD, PUT');
    const blob = await http.delete(`/v2/ro/app/blobs/${image.layers[0]!.digest}`);
    expect(blob.headers.allow).toBe('GET, HEAD');
  });
});

it('a commit that fails after hashing can be retried and re-hashes from storage', async () => {
  let failMoves = 1;
  class FlakyDriver extends MemoryDriver {
    override async move(source: string, dest: string): Promise<void> {
      if (failMoves-- > 0) throw new Error('transient storage failure');
      return super.move(source, dest);
    }
  }
  const http = supertest(createApp({ config: testConfig('inmemory', undefined), storage: new FlakyDriver(), logger: pino({ level: 'silent' }) }));
  const bytes = Buffer.from('retry me');
  const digest = sha256(bytes);
  const location = (await http.post('/v2/flaky/app/blobs/uploads/').expect(202)).headers.location as string;
  await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes).expect(202);
  expectError(await http.put(`${location}?digest=${digest}`), 500, 'UNKNOWN');
  await http.put(`${location}?digest=${digest}`).expect(201);
  expect((await http.head(`/v2/flaky/app/blobs/${digest}`)).status).toBe(200);
});

it.each([
  ['a tag', '/_manifests/tags/'],
  ['the revision', '/_manifests/revisions/'],
])('a manifest delete that dies at %s leaves no tag pointing nowhere', async (_what, dyingPath) => {
  let dead = false;
  class DyingDriver extends MemoryDriver {
    override async delete(path: string): Promise<void> {
      if (dead && path.includes(dyingPath)) throw new Error('process killed');
      return super.delete(path);
    }
  }
  const http = supertest(createApp({ config: testConfig('inmemory', undefined), storage: new DyingDriver(), logger: pino({ level: 'silent' }) }));
  const image = await pushImage(http, 'crash/app', 'v1', { layers: 1 });
  await putManifest(http, 'crash/app', 'v2', image.body, image.mediaType).expect(201);
  dead = true;
  expectError(await http.delete(`/v2/crash/app/manifests/${image.digest}`), 500, 'UNKNOWN');
  dead = false;
  for (const tag of (await http.get('/v2/crash/app/tags/list')).body.tags as string[]) {
    expect((await http.get(`/v2/crash/app/manifests/${tag}`)).status, `tag ${tag} dangles`).toBe(200);
  }
});

it('a client that hangs up before its bytes reach storage is logged as gone, not as a server error', async () => {
  const { logger, lines } = capturingLogger('debug');
  let clientGone!: () => void;
  const hungUp = new Promise<void>((resolve) => (clientGone = resolve));
  class SlowSessionDriver extends MemoryDriver {
    override async getContent(path: string): Promise<Buffer> {
      if (path.startsWith('/uploads/')) await hungUp; // the session is read only after the client left
      return super.getContent(path);
    }
  }
  const server = createServer(createApp({ config: testConfig('inmemory', undefined), storage: new SlowSessionDriver(), logger }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const bytes = Buffer.from('x'.repeat(100));
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${url}/v2/gone/app/blobs/uploads/?digest=${sha256(bytes)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '100000' },
      });
      req.on('error', () => resolve());
      req.write(bytes, () => setTimeout(() => req.destroy(), 50));
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    clientGone();
    await eventually(async () => lines.some((l) => l.msg === 'client closed the connection' || l.level >= 50), 'the request to end');
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    expect(lines.some((l) => l.msg === 'client closed the connection')).toBe(true);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
