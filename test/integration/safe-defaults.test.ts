/**
 * Safe defaults without an `auth` section (outside testing: out of the box anyone who reached the port
 * could delete and call the admin API): the admin API and DELETEs of manifests, tags and blobs answer
 * only loopback clients (403 DENIED elsewhere, naming `admin.allowremote` and `auth`); pushes and pulls
 * stay open, as in CNCF Distribution; `wharf serve` logs one warning that the registry is open.
 */
import { networkInterfaces } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { afterEach, expect, it } from 'vitest';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { validate } from '../../src/config/load.js';
import { createHttpServer, startServer, type RunningServer } from '../../src/server.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { capturingLogger, expectError, pushImage, testConfig, type Client } from './harness.js';

/** This machine's first non-loopback IPv4 address: requests to it come from it, not from 127.0.0.1. */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 address on this machine (a network interface besides lo)');
  return found.address;
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A registry without auth listening on every address; `local` reaches it over loopback, `remote` over the external address. */
async function openRegistry(admin: Record<string, unknown> = {}): Promise<{ local: Client; remote: Client }> {
  const config = testConfig('inmemory', undefined, { admin });
  const server = createHttpServer(createApp({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const port = (server.address() as AddressInfo).port;
  return { local: supertest(`http://127.0.0.1:${port}`), remote: supertest(`http://${externalAddress()}:${port}`) };
}

it('without auth, a remote client pushes and pulls but may not delete or call the admin API: 403 DENIED naming the settings', async () => {
  const { local, remote } = await openRegistry();
  const image = await pushImage(remote, 'open/app', 'v1');
  expect((await remote.get('/v2/open/app/manifests/v1')).status).toBe(200);
  const layer = image.layers[0]!.digest;
  for (const path of ['/v2/open/app/manifests/v1', `/v2/open/app/manifests/${image.digest}`, `/v2/open/app/blobs/${layer}`]) {
    const message = expectError(await remote.delete(path), 403, 'DENIED');
    expect(message).toContain('admin.allowremote: true');
    expect(message).toContain('auth');
  }
  for (const [method, path] of [
    ['get', '/admin/v1/repositories'],
    ['get', '/admin/v1/storage'],
    ['delete', '/admin/v1/repositories/open/app'],
    ['post', '/admin/v1/gc'],
  ] as const) {
    const message = expectError(await remote[method](path), 403, 'DENIED');
    expect(message).toContain('admin.allowremote: true');
  }
  expect((await remote.get('/v2/open/app/manifests/v1')).status).toBe(200); // nothing was deleted
  // an upload session is its client's own: cancelling it is no delete of registry content
  const session = (await remote.post('/v2/open/app/blobs/uploads/')).headers.location as string;
  expect((await remote.delete(session)).status).toBe(204);
  // loopback clients keep everything
  expect((await local.get('/admin/v1/repositories')).status).toBe(200);
  expect((await local.delete('/v2/open/app/manifests/v1')).status).toBe(202);
});

it('admin.allowremote: true opens the admin API and deletes to remote clients', async () => {
  const { remote } = await openRegistry({ allowremote: true });
  await pushImage(remote, 'open/app', 'v1');
  expect((await remote.get('/admin/v1/repositories')).status).toBe(200);
  expect((await remote.delete('/v2/open/app/manifests/v1')).status).toBe(202);
});

it('wharf serve without auth logs one warning that the registry is open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-open-'));
  const { logger, lines } = capturingLogger();
  let running: RunningServer | undefined;
  try {
    running = await startServer(validate({ http: { addr: '127.0.0.1:0' }, storage: { filesystem: { rootdirectory: dir } } }), logger);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([expect.stringContaining('no auth section')]);
    expect(warnings[0]!.msg).toContain('admin.allowremote');
  } finally {
    await running?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
