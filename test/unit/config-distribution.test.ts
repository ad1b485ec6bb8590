/**
 * CNCF Distribution configuration files start Wharf: Debian's stock `/etc/docker/registry/config.yml`
 * (as installed, and a copy in test/fixtures/distribution/ for a machine without the package) and the
 * examples Distribution ships (copied there from its repository), with their storage and htpasswd
 * paths pointed at temporary files. Keys Wharf does not implement are
 * warnings; values Wharf cannot honour stop start-up.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configWarnings } from '../../src/config/warnings.js';
import { configErrorOf, configFile } from '../support/config.js';
import { tempFolder } from '../support/temp.js';

const DEBIAN_CONFIG = '/etc/docker/registry/config.yml';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const FIXTURES = join(import.meta.dirname, '../fixtures/distribution');

/** `yaml` with every rootdirectory and htpasswd path pointed into a fresh temp folder. */
function withTempPaths(yaml: string): { file: string; dir: string } {
  const dir = tempFolder('wharf-distribution-');
  writeFileSync(join(dir, 'htpasswd'), 'alice:$2y$05$Qx5oV0r2rYJ8kq6vZ8Z6uOQ3Qk7y9v1pGm3o0u3sX8m0G4yq8F9Eu\n');
  const rewritten = yaml.replace(/rootdirectory: .*/g, `rootdirectory: ${join(dir, 'data')}`).replace(/(htpasswd:\n(?:\s+\w+: .*\n)*?\s+path: ).*/, `$1${join(dir, 'htpasswd')}`);
  return { file: configFile(rewritten), dir };
}

function warningKeys(file: string): string[] {
  return configWarnings(loadConfig(file, {})).map((w) => w.key);
}

/** Debian's file as installed (required in CI, where .ci/run installs docker-registry), and the copy in the fixtures everywhere. */
const DEBIAN_FILES = [
  ...(existsSync(DEBIAN_CONFIG) || CI ? [{ where: 'installed', file: DEBIAN_CONFIG }] : []),
  { where: 'copied into the fixtures', file: join(FIXTURES, 'debian-config.yml') },
];

describe("Debian's stock docker-registry config.yml", () => {
  it.each(DEBIAN_FILES)('($where) loads with one warning per key Wharf does not implement, and keeps the keys it implements', ({ file: path }) => {
    expect(existsSync(path), `${path} is missing: install the Debian package docker-registry (.ci/run does)`).toBe(true);
    const { file, dir } = withTempPaths(readFileSync(path, 'utf8'));
    const config = loadConfig(file, {});
    expect(configWarnings(config).map((w) => w.key).sort()).toEqual(['log.fields', 'storage.cache']);
    expect(configWarnings(config)[0]!.message).toMatch(/Wharf does not implement, ignored: Wharf writes JSON log lines/);
    expect(config.http).toMatchObject({ addr: ':5000', headers: { 'X-Content-Type-Options': ['nosniff'] } });
    expect(config.storage).toMatchObject({ filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } });
    expect(config.auth?.htpasswd).toEqual({ realm: 'basic-realm', path: join(dir, 'htpasswd') });
    expect(config.health.storagedriver).toEqual({ enabled: true, interval: 10_000, threshold: 3 });
  });
});

describe("the examples CNCF Distribution's repository and documentation ship", () => {
  const fixture = (name: string) => withTempPaths(readFileSync(join(FIXTURES, name), 'utf8')).file;

  it('cmd/registry/config-example.yml', () => {
    expect(warningKeys(fixture('config-example.yml')).sort()).toEqual(['log.fields', 'storage.cache', 'storage.delete.enabled', 'storage.tag']);
  });

  it('cmd/registry/config-dev.yml: the debug listener with Prometheus on', () => {
    const file = fixture('config-dev.yml');
    expect(warningKeys(file).sort()).toEqual(['log.fields', 'storage.cache', 'storage.maintenance.uploadpurging', 'storage.tag']);
    expect(loadConfig(file, {}).http.debug).toEqual({ addr: ':5001', prometheus: { enabled: true, path: '/metrics' } });
  });

  it('the documentation examples (development, macOS, notifications)', () => {
    expect(warningKeys(fixture('docs-development.yml')).sort()).toEqual(['http.secret', 'storage.delete.enabled']);
    expect(warningKeys(fixture('docs-osx.yml')).sort()).toEqual(['http.secret', 'log.fields', 'storage.cache', 'storage.delete.enabled']);
    const notifications = loadConfig(fixture('docs-notifications.yml'), {}).notifications;
    // a YAML flow sequence: Distribution too reads [Bearer <your token, if needed>] as two values
    expect(notifications.endpoints).toEqual([
      expect.objectContaining({ name: 'alistener', url: 'https://mylistener.example.com/event', headers: { Authorization: ['Bearer <your token', 'if needed>'] }, timeout: 500, threshold: 5, backoff: 1000 }),
    ]);
  });

  it('cmd/registry/config-cache.yml (a pull-through cache): proxy.remoteurl is one default upstream, evicted after the default ttl', () => {
    const c = loadConfig(fixture('config-cache.yml'), {});
    expect(c.proxy?.upstreams).toEqual([
      expect.objectContaining({ name: 'remote', url: 'https://registry-1.docker.io', prefix: 'docker.io', default: true, username: 'username', password: 'password' }),
    ]);
    // no ttl: Distribution's 168h, as Wharf's retention of what nobody pulled
    expect(c.gc.retention).toEqual([{ name: 'docker.io/**', unpulledfor: 168 * 3_600_000, deleteuntagged: true }]);
    expect(c.gc.interval).toBe(24 * 3_600_000);
    expect(configWarnings(c).find((w) => w.key === 'proxy.ttl')?.message).toMatch(/is not set .*168h.*unpulledfor: 168h.*runs every 24h/);
  });
});

describe('translation and refusals', () => {
  it("takes Distribution's spellings: loglevel, regionendpoint, an external token issuer, nanosecond durations", () => {
    const c = loadConfig(
      configFile(
        [
          'loglevel: debug',
          'storage: {s3: {bucket: reg, regionendpoint: "http://127.0.0.1:9000", v4auth: true}}',
          'notifications: {endpoints: [{name: a, url: "http://127.0.0.1:1/x", timeout: 2000000000, backoff: 1m30s}]}',
        ].join('\n'),
      ),
      {},
    );
    expect(c.log.level).toBe('debug');
    expect(c.storage.s3?.endpoint).toBe('http://127.0.0.1:9000');
    expect(c.notifications.endpoints[0]).toMatchObject({ timeout: 2000, backoff: 90_000 });
    expect(configWarnings(c).map((w) => w.key)).toContain('storage.s3.v4auth');
    const token = loadConfig(
      configFile('storage: {inmemory: {}}\nauth: {token: {realm: "https://auth.example.com/token", service: reg, issuer: acme, rootcertbundle: /etc/certs/bundle.pem}}'),
      {},
    ).auth?.token;
    expect(token).toMatchObject({ service: 'reg', external: { realm: 'https://auth.example.com/token', issuer: 'acme', certificates: '/etc/certs/bundle.pem' } });
  });

  it.each([
    ['storage: {inmemory: {}, maintenance: {readonly: {enabled: true}}}', /"storage\.maintenance\.readonly".*no read-only mode/],
    ['storage: {inmemory: {}}\nmiddleware: {storage: [{name: cloudfront}]}', /"middleware".*CloudFront would not serve/],
    ['storage: {inmemory: {}}\nauth: {silly: {realm: r, service: s}}', /"auth\.silly"/],
    ['storage: {inmemory: {}}\nhttp: {prefix: /reg/}', /"http\.prefix" = "\/reg\/".*strip the prefix/],
    ['storage: {inmemory: {}}\nhttp: {tls: {letsencrypt: {cachefile: /x, email: a@b}}}', /"http\.tls\.letsencrypt".*would serve plain HTTP/],
    ['storage: {azure: {accountname: a}}', /"storage\.azure".*no azure storage driver/],
    ['storage: {s3: {bucket: abc, encrypt: true}}', /"storage\.s3\.encrypt".*server-side encryption/],
  ])('refuses %s', (yaml, message) => {
    expect(configErrorOf(() => loadConfig(configFile(yaml), {}))).toMatch(message);
  });

  it.each([
    ['ttl: 720h', 720, 24],
    ['ttl: 30m', 0.5, 1],
    ['ttl: 7200000000000', 2, 2],
  ])('reads proxy.%s as retention unpulledfor %sh, collected every %sh', (ttl, hours, every) => {
    const c = loadConfig(configFile(`storage: {inmemory: {}}\nproxy: {remoteurl: "http://127.0.0.1:5001", ${ttl}}`), {});
    expect(c.proxy?.upstreams[0]).toMatchObject({ url: 'http://127.0.0.1:5001', prefix: '127.0.0.1-5001', default: true });
    expect(c.gc.retention).toEqual([{ name: '127.0.0.1-5001/**', unpulledfor: hours * 3_600_000, deleteuntagged: true }]);
    expect(c.gc.interval).toBe(every * 3_600_000);
  });

  it('keeps gc.interval and the retention rules of the file, and keeps everything with proxy.ttl 0', () => {
    const kept = loadConfig(configFile('storage: {inmemory: {}}\ngc: {interval: 6h, retention: [{name: "ci/*", keeplast: 3}]}\nproxy: {remoteurl: "https://ghcr.io", ttl: 48h}'), {});
    expect(kept.gc.interval).toBe(6 * 3_600_000);
    expect(kept.gc.retention.map((r) => r.name)).toEqual(['ci/*', 'ghcr.io/**']);
    const forever = loadConfig(configFile('storage: {inmemory: {}}\nproxy: {remoteurl: "https://ghcr.io", ttl: 0}'), {});
    expect([forever.gc.retention, forever.gc.interval]).toEqual([[], undefined]);
    expect(configWarnings(forever).find((w) => w.key === 'proxy.ttl')?.message).toMatch(/kept until deleted by hand/);
    expect(configErrorOf(() => loadConfig(configFile('storage: {inmemory: {}}\nproxy: {remoteurl: "https://ghcr.io", ttl: a week}'), {}))).toMatch(/"proxy\.ttl" = "a week": expected a duration/);
  });

  it('accepts the values of those keys that change nothing, with a warning', () => {
    const c = loadConfig(configFile('storage: {inmemory: {}, delete: {enabled: false}, maintenance: {readonly: {enabled: false}}}\nhttp: {prefix: /, net: tcp}'), {});
    expect(configWarnings(c).map((w) => w.key).sort()).toEqual(['http.net', 'http.prefix']);
  });
});
