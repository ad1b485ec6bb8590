/**
 * A stock CNCF Distribution pull-through cache configuration (cmd/registry/config-cache.yml, copied
 * in test/fixtures/distribution/) runs Wharf as is: `proxy: {remoteurl, username, password}` is one
 * default upstream, proxied with those credentials (Bearer, as Docker Hub asks), and its `ttl` (unset:
 * Distribution's 168h) becomes retention's `unpulledfor` over the upstream's prefix. Only what cannot
 * be used on a test machine is changed: the addresses, the storage folder, the upstream and its account.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { startServer } from '../../src/server.js';
import { configFile } from '../support/config.js';
import { startAuthRegistry, USERS } from './auth-harness.js';
import { buildImage, pushImage, raw, sha256 } from './harness.js';
import { pushAs } from './proxy-harness.js';

const FIXTURE = readFileSync(join(import.meta.dirname, '../fixtures/distribution/config-cache.yml'), 'utf8');
/** Every listener on a free loopback port (the file says :5000 and localhost:5001). */
const ADDRESSES = { WHARF_HTTP_ADDR: '127.0.0.1:0', WHARF_HTTP_DEBUG_ADDR: '127.0.0.1:0' };

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The fixture with its storage in a fresh folder and its proxy section pointed at `remoteurl` as `username`. */
async function distributionConfig(remoteurl: string, username: string, password: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-distribution-cache-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  const yaml = FIXTURE.replace(/rootdirectory: .*/, `rootdirectory: ${root}`)
    .replace('remoteurl: https://registry-1.docker.io', `remoteurl: ${remoteurl}`)
    .replace('username: username', `username: ${username}`)
    .replace('password: password', `password: ${password}`);
  expect(yaml).not.toBe(FIXTURE);
  return configFile(yaml);
}

describe("CNCF Distribution's pull-through cache configuration", () => {
  it('runs as is: one default upstream with its credentials, retention from its ttl, the team still pushes', async () => {
    const upstream = await startAuthRegistry();
    const image = buildImage({ layers: 2 });
    await pushAs(upstream.url, 'alice', 'alice/base', '1.0', image);
    const config = loadConfig(await distributionConfig(upstream.url, 'alice', USERS.alice), ADDRESSES);
    const prefix = new URL(upstream.url).host.replace(':', '-');
    expect(config.proxy?.upstreams).toEqual([expect.objectContaining({ url: upstream.url, prefix, default: true, username: 'alice' })]);
    expect(config.gc.retention).toEqual([{ name: `${prefix}/**`, unpulledfor: 168 * 3_600_000, deleteuntagged: true }]);
    expect(configWarnings(config).map((w) => w.key)).toContain('proxy.ttl');

    const server = await startServer(config, pino({ level: 'silent' }));
    cleanups.push(() => server.stop());
    const http = supertest(`http://${server.address}`);
    // as a registry-mirrors entry: the upstream's names, unprefixed, through the default upstream
    const manifest = await raw(http.get('/v2/alice/base/manifests/1.0'));
    expect([manifest.status, manifest.headers['docker-content-digest'], manifest.headers['cache-status']]).toEqual([200, image.digest, 'Wharf; fwd=miss; stored']);
    expect(manifest.body.equals(image.body)).toBe(true);
    for (const blob of [image.config, ...image.layers]) expect(sha256((await raw(http.get(`/v2/alice/base/blobs/${blob.digest}`))).body)).toBe(blob.digest);
    expect((await http.get('/v2/alice/base/manifests/1.0')).headers['cache-status']).toBe('Wharf; hit');
    // the team's own repository on the same instance (Distribution would refuse the push)
    const own = await pushImage(http, 'team/app', 'v1');
    expect((await http.get('/v2/team/app/manifests/v1')).headers['docker-content-digest']).toBe(own.digest);
    expect((await http.get('/v2/_catalog')).body.repositories).toEqual([`${prefix}/alice/base`, 'team/app']);
  });

  it('stops at start-up when the upstream refuses the credentials, naming the key', async () => {
    const upstream = await startAuthRegistry();
    const config = loadConfig(await distributionConfig(upstream.url, 'alice', 'wrong'), ADDRESSES);
    const error = await startServer(config, pino({ level: 'silent' })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/proxy\.(upstreams\.0\.)?username" = "alice".*refused these credentials/);
  });
});
