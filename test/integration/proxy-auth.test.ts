/**
 * Upstreams that need credentials: a Wharf with token authentication (Bearer, tokens cached per
 * scope) or Basic authentication, proxied with the upstream's `username`/`password`; credentials
 * refused at start-up stop the server with the key to fix; refused later, the cached copy is served.
 */
import { writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError, validate } from '../../src/config/load.js';
import { buildImage, expectError, raw, sha256 } from './harness.js';
import { htpasswdLine, startAuthRegistry, USERS } from './auth-harness.js';
import { pushAs, startCache } from './proxy-harness.js';
import { buildUpstreams, checkUpstreams } from '../../src/proxy/upstream.js';

const tokenRequests = (logs: { msg: string; req?: { path?: string } }[]) => logs.filter((l) => l.msg === 'request' && l.req?.path === '/auth/token').length;

describe('pull-through cache of upstreams with authentication', () => {
  it('proxies a Wharf with token authentication with the upstream\'s credentials, asking for each scope\'s token once', async () => {
    const upstream = await startAuthRegistry();
    const image = buildImage({ layers: 3 });
    await pushAs(upstream.url, 'alice', 'alice/app', 'v1', image);
    const cache = await startCache([{ name: 'corp', url: upstream.url, prefix: 'corp', username: 'alice', password: USERS.alice }]);
    const before = tokenRequests(upstream.logs);
    const manifest = await raw(cache.http.get('/v2/corp/alice/app/manifests/v1'));
    expect([manifest.status, manifest.headers['docker-content-digest']]).toEqual([200, image.digest]);
    for (const blob of [image.config, ...image.layers]) expect(sha256((await raw(cache.http.get(`/v2/corp/alice/app/blobs/${blob.digest}`))).body)).toBe(blob.digest);
    // one token for repository:alice/app:pull, reused until it expires
    expect(tokenRequests(upstream.logs) - before).toBe(1);
    // anonymous users of the cache never needed the upstream's credentials
    expectError(await cache.http.get('/v2/corp/bob/app/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('proxies an upstream with Basic authentication', async () => {
    const upstream = await startAuthRegistry({ auth: ({ htpasswd }) => ({ htpasswd: { path: htpasswd }, acl: [{ account: 'authenticated', name: '${account}/*', actions: ['*'] }] }) });
    const image = buildImage({ layers: 1 });
    await pushAs(upstream.url, 'bob', 'bob/tool', '1', image);
    const cache = await startCache([{ name: 'corp', url: upstream.url, prefix: 'corp', username: 'bob', password: USERS.bob }]);
    expect((await cache.http.get('/v2/corp/bob/tool/manifests/1')).headers['docker-content-digest']).toBe(image.digest);
    expect(sha256((await raw(cache.http.get(`/v2/corp/bob/tool/blobs/${image.layers[0]!.digest}`))).body)).toBe(image.layers[0]!.digest);
  });

  it('refused credentials stop the start-up, naming the key; an unreachable upstream does not', async () => {
    const upstream = await startAuthRegistry();
    const config = validate({
      storage: { inmemory: {} },
      proxy: {
        upstreams: [
          { name: 'corp', url: upstream.url, prefix: 'corp', username: 'alice', password: 'wrong' },
          { name: 'gone', url: 'http://127.0.0.1:9', prefix: 'gone' },
        ],
      },
    });
    const upstreams = buildUpstreams(config.proxy!);
    const error = await checkUpstreams(upstreams, pino({ level: 'silent' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('config key "proxy.upstreams.0.username" = "alice"');
    await checkUpstreams(upstreams.slice(1), pino({ level: 'silent' }));
    await Promise.all(upstreams.map((u) => u.close()));
  });

  it('serves the cached copy, stale, when the upstream later refuses the credentials', async () => {
    const upstream = await startAuthRegistry();
    const image = buildImage({ layers: 1 });
    await pushAs(upstream.url, 'alice', 'alice/app', 'v1', image);
    const cache = await startCache([{ name: 'corp', url: upstream.url, prefix: 'corp', username: 'alice', password: USERS.alice, tagttl: '1m' }]);
    expect((await cache.http.get('/v2/corp/alice/app/manifests/v1')).status).toBe(200);
    await writeFile(upstream.htpasswd, `${htpasswdLine('alice', 'a-new-password')}\n`);
    cache.advance(2 * 60_000);
    upstream.advance(3600); // the cached token expired: a new one is asked for, and refused
    const stale = await cache.http.get('/v2/corp/alice/app/manifests/v1');
    expect([stale.status, stale.headers['cache-status'], stale.headers['docker-content-digest']]).toEqual([200, 'Wharf; fwd=stale; detail=stale-if-error', image.digest]);
  });
});
