/** Pure parts of the client: Docker's reference normalization, challenges, scopes, upload ranges, retry delays, loopback rules, locations. */
import { describe, expect, it } from 'vitest';
import { formatReference, parseImageReference, registryHost } from '../../src/oci/image-reference.js';
import { parsePlatform, platformMatches } from '../../src/oci/platform.js';
import { mergeScopes, parseChallenges } from '../../src/client/auth/challenge.js';
import { rangeEnd } from '../../src/client/blob-upload.js';
import { ClientError, RegistryClientError } from '../../src/client/errors.js';
import { parseLocation } from '../../src/client/image/locations.js';
import { retryDelay, DEFAULT_RETRY } from '../../src/client/retry.js';
import { isLoopback, SOCKET_WRITE_BUFFER, Transport } from '../../src/client/transport.js';
import { TokenCache } from '../../src/client/auth/token-cache.js';
import { retryAfterSeconds } from '../../src/client/http-body.js';

describe('image references (Docker normalization)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['library/busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['team/app', 'docker.io/team/app:latest'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/team/app:1.0', 'localhost:5000/team/app:1.0'],
    ['127.0.0.1:5000/a/b/c@sha256:' + 'a'.repeat(64), `127.0.0.1:5000/a/b/c@sha256:${'a'.repeat(64)}`],
    ['ghcr.io/org/img:v1@sha256:' + 'b'.repeat(64), `ghcr.io/org/img:v1@sha256:${'b'.repeat(64)}`],
    ['index.docker.io/library/alpine', 'docker.io/library/alpine:latest'],
  ])('%s is %s', (input, normalized) => {
    expect(formatReference(parseImageReference(input))).toBe(normalized);
  });

  it('serves docker.io from registry-1.docker.io and refuses bad names', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(() => parseImageReference('Team/App')).toThrow(/invalid repository name/);
    expect(() => parseImageReference('host:5000/app:bad tag')).toThrow(/invalid tag/);
    expect(() => parseImageReference('app@sha256:123')).toThrow(/digest/);
  });

  it('refuses a registry that is not a host name (Docker\'s domain grammar), such as the . of ./out', () => {
    for (const bad of ['./out', '../x/y', 'a..b/app', '-host.com/app', 'host-.com/app', 'host.com:port/app', 'ho_st.com/app']) {
      expect(() => parseImageReference(bad), bad).toThrow(/invalid registry/);
    }
    expect(parseImageReference('[::1]:5000/app').registry).toBe('[::1]:5000');
    expect(parseImageReference('my-host.example.com:443/app').registry).toBe('my-host.example.com:443');
  });

  it('leaves the tag unset for a repository when asked', () => {
    expect(parseImageReference('localhost:5000/team/app', { defaultTag: null }).tag).toBeUndefined();
  });
});

describe('platforms', () => {
  it('parses and matches os/arch[/variant]', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, parsePlatform('linux/arm64'))).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, parsePlatform('linux/arm64/v8'))).toBe(false);
    expect(() => parsePlatform('linux')).toThrow(/os\/arch/);
  });
});

describe('challenges and scopes', () => {
  it('parses Bearer and Basic challenges', () => {
    expect(parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseChallenges(['Basic realm="Registry Realm"'])).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('merges the actions of one resource', () => {
    expect(mergeScopes(['repository:a:pull', 'repository:b:pull', 'repository:a:push'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });

  it('caches tokens per registry and scopes until they expire', () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    cache.set('r', ['repository:a:pull'], 't', 60);
    expect(cache.get('r', ['repository:a:pull'])).toBe('t');
    expect(cache.get('r', ['repository:a:pull,push'])).toBeUndefined();
    now = 51_000;
    expect(cache.get('r', ['repository:a:pull'])).toBeUndefined();
  });
});

describe('transfers', () => {
  it('reads the session offset from Range', () => {
    expect(rangeEnd('0-1023')).toBe(1024);
    expect(rangeEnd('0-0')).toBe(0);
    expect(rangeEnd(undefined)).toBe(0);
    expect(rangeEnd('bytes=0-9')).toBe(10);
  });

  it('honours Retry-After and backs off otherwise', () => {
    const err = new RegistryClientError(429, [{ code: 'TOOMANYREQUESTS', message: '' }], { method: 'GET', url: 'http://x' }, 2);
    expect(retryDelay(DEFAULT_RETRY, 0, err)).toBe(2000);
    expect(retryDelay(DEFAULT_RETRY, 10, new Error('x'))).toBeLessThanOrEqual(DEFAULT_RETRY.maxDelayMs);
    expect(retryAfterSeconds('3')).toBe(3);
    expect(err.temporary).toBe(true);
    expect(new RegistryClientError(404, [{ code: 'MANIFEST_UNKNOWN', message: '' }], { method: 'GET', url: 'http://x?_state=secret' }).message).not.toContain('secret');
  });

  it('sends a streamed body without pausing it at every 64 KiB chunk (1 MiB socket write buffer)', async () => {
    const { createServer } = await import('node:http');
    const { Readable } = await import('node:stream');
    let received = 0;
    const server = createServer((req, res) => {
      req.on('data', (b: Buffer) => (received += b.length)).on('end', () => res.writeHead(201).end());
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const t = new Transport();
    try {
      const chunks = 64;
      const chunk = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const body = new Readable({ read: () => void body.push(sent++ < chunks ? chunk : null) });
      let pauses = 0;
      body.on('pause', () => pauses++);
      const res = await t.send({ method: 'PUT', url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, headers: { 'content-length': String(chunks * chunk.length) }, body });
      res.body.resume();
      expect(res.status).toBe(201);
      expect(received).toBe(chunks * chunk.length);
      // Node's 16 KiB default made every write return false: one pause (and one drain) per chunk
      expect(pauses).toBeLessThan(chunks / 4);
      expect(SOCKET_WRITE_BUFFER).toBeGreaterThanOrEqual(16 * chunk.length);
    } finally {
      await t.close();
      server.close();
    }
  });

  it('uses plain HTTP only for loopback and insecure hosts', () => {
    expect(['localhost:5000', '127.0.0.2', '[::1]:5000', 'localhost'].every(isLoopback)).toBe(true);
    expect(isLoopback('10.0.0.1:5000')).toBe(false);
    const t = new Transport({ insecure: ['registry.lan:5000'] });
    expect(t.scheme('registry.lan:5000')).toBe('http');
    expect(t.scheme('ghcr.io')).toBe('https');
    void t.close();
  });
});

describe('image locations', () => {
  it('parses transports and references', () => {
    expect(parseLocation('oci:./out:1.0')).toEqual({ kind: 'oci', path: './out', name: '1.0' });
    expect(parseLocation('oci-archive:/tmp/a.tar')).toEqual({ kind: 'oci-archive', path: '/tmp/a.tar' });
    expect(parseLocation('docker://busybox')).toMatchObject({ kind: 'registry', ref: { registry: 'docker.io', repository: 'library/busybox' } });
    expect(parseLocation('./image.tar', true)).toEqual({ kind: 'path', path: './image.tar' });
  });

  it('tells to name the transport of a path given where a reference is expected', () => {
    for (const path of ['./out', '../out', '/tmp/out', '.']) {
      let hint: string | undefined;
      try {
        parseLocation(path);
      } catch (err) {
        hint = (err as ClientError).hint;
      }
      expect(hint, path).toMatch(/^write oci:.*, oci-archive:.* or docker-archive:/);
    }
  });
});
