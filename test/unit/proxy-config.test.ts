import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { RetentionPolicy } from '../../src/gc/retention.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import { Router } from '../../src/proxy/routing.js';
import { buildUpstreams } from '../../src/proxy/upstream.js';
import { configErrorOf, configFile } from '../support/config.js';

const yaml = (proxy: string) => configFile(`storage:\n  inmemory: {}\nproxy:\n${proxy}`);

describe('proxy configuration', () => {
  it('reads upstreams with their defaults', () => {
    const c = loadConfig(
      yaml(
        '  upstreams:\n' +
          '    - {name: dockerhub, url: "https://registry-1.docker.io", prefix: dockerhub, default: true, tagttl: 1h}\n' +
          '    - {name: ghcr, url: "https://ghcr.io", prefix: ghcr.io, username: bot, password: s3cret}\n',
      ),
      { WHARF_PROXY_UPSTREAMS_1_PASSWORD: 'from-env' },
    );
    expect(c.proxy).toEqual({
      upstreams: [
        { name: 'dockerhub', url: 'https://registry-1.docker.io', prefix: 'dockerhub', default: true, tagttl: 3_600_000, maxconnections: 16, timeout: 30_000 },
        { name: 'ghcr', url: 'https://ghcr.io', prefix: 'ghcr.io', default: false, username: 'bot', password: 'from-env', tagttl: 600_000, maxconnections: 16, timeout: 30_000 },
      ],
      negativettl: 30_000,
      filltimeout: 3_600_000,
      prefetch: false,
    });
    const [hub, ghcr] = buildUpstreams(c.proxy!);
    expect([hub!.registry, hub!.namespaces, hub!.hub]).toEqual(['docker.io', ['docker.io'], true]);
    expect([ghcr!.registry, ghcr!.namespaces, ghcr!.hub]).toEqual(['ghcr.io', ['ghcr.io'], false]);
  });

  it('turns layer prefetch on with prefetch: true', () => {
    const c = loadConfig(yaml('  upstreams:\n    - {name: a, url: "https://x.io", prefix: a}\n  prefetch: true\n'), {});
    expect(c.proxy!.prefetch).toBe(true);
    expect(configErrorOf(() => loadConfig(yaml('  upstreams:\n    - {name: a, url: "https://x.io", prefix: a}\n  prefetch: sometimes\n'), {}))).toMatch(/"proxy\.prefetch" = "sometimes".*expected true or false/);
  });

  it("reads CNCF Distribution's proxy.remoteurl as one default upstream", () => {
    const c = loadConfig(yaml('  remoteurl: https://registry-1.docker.io\n  username: u\n  password: p\n  ttl: 168h\n'), {});
    expect(c.proxy!.upstreams).toEqual([
      { name: 'remote', url: 'https://registry-1.docker.io', prefix: 'docker.io', default: true, username: 'u', password: 'p', tagttl: 600_000, maxconnections: 16, timeout: 30_000 },
    ]);
  });

  it('names the key, the value and the fix', () => {
    const error = (proxy: string) => configErrorOf(() => loadConfig(yaml(proxy), {}));
    expect(error('  upstreams:\n    - {name: a, url: "ftp://x", prefix: a}\n')).toMatch(/"proxy\.upstreams\.0\.url" = "ftp:\/\/x".*scheme must be http or https/);
    expect(error('  upstreams:\n    - {name: a, url: "https://x.io/v2/", prefix: a}\n')).toMatch(/give the registry's origin only \(https:\/\/x\.io\)/);
    expect(error('  upstreams:\n    - {name: a, url: "https://u:p@x.io", prefix: a}\n')).toMatch(/put credentials in username and password/);
    expect(error('  upstreams:\n    - {name: a, url: "https://x.io", prefix: A}\n')).toMatch(/"proxy\.upstreams\.0\.prefix" = "A".*valid repository name/);
    expect(error('  upstreams:\n    - {name: a, url: "https://x.io", prefix: a, username: u}\n')).toMatch(/set both username and password/);
    expect(error('  upstreams:\n    - {name: a, url: "https://x.io", prefix: a, tagttl: 10}\n')).toMatch(/"proxy\.upstreams\.0\.tagttl" = 10 .*expected a duration/);
    const two = (a: string, b: string) => `  upstreams:\n    - {${a}}\n    - {${b}}\n`;
    expect(error(two('name: a, url: "https://x.io", prefix: a, default: true', 'name: b, url: "https://y.io", prefix: b, default: true'))).toMatch(/"proxy\.upstreams\.1\.default".*at most one/);
    expect(error(two('name: a, url: "https://x.io", prefix: a', 'name: b, url: "https://y.io", prefix: a'))).toMatch(/prefix "a" is used by upstream 0 too/);
    expect(error(two('name: a, url: "https://x.io", prefix: a', 'name: b, url: "https://y.io", prefix: a/b'))).toMatch(/must not nest/);
    expect(error(two('name: a, url: "https://x.io", prefix: a', 'name: b, url: "https://x.io", prefix: b'))).toMatch(/namespace x\.io is upstream 0's too/);
  });
});

describe('proxy routing', () => {
  const config = loadConfig(
    yaml(
      '  upstreams:\n' +
        '    - {name: hub, url: "https://registry-1.docker.io", prefix: dockerhub, default: true}\n' +
        '    - {name: quay, url: "https://quay.io", prefix: mirror/quay}\n',
    ),
    {},
  );
  const pushed = new Set(['team/app', 'library/internal']);
  const router = new Router(buildUpstreams(config.proxy!), async (name) => pushed.has(name));
  const route = async (name: string, ns?: string) => {
    const t = await router.read(name as RepositoryName, ns);
    return t && `${t.upstream.name} ${t.remote} -> ${t.cache} (${t.via})`;
  };

  it('routes by ns, then prefix, then the default upstream; pushed names win over the default', async () => {
    expect(await route('library/busybox', 'docker.io')).toBe('hub library/busybox -> dockerhub/library/busybox (ns)');
    expect(await route('busybox', 'docker.io')).toBe('hub library/busybox -> dockerhub/library/busybox (ns)');
    expect(await route('prometheus/prometheus', 'quay.io')).toBe('quay prometheus/prometheus -> mirror/quay/prometheus/prometheus (ns)');
    expect(await route('prometheus/prometheus', 'ghcr.io')).toBeUndefined();
    expect(await route('mirror/quay/coreos/etcd')).toBe('quay coreos/etcd -> mirror/quay/coreos/etcd (prefix)');
    expect(await route('dockerhub/busybox')).toBe('hub library/busybox -> dockerhub/library/busybox (prefix)');
    expect(await route('python')).toBe('hub library/python -> dockerhub/library/python (default)');
    expect(await route('team/app')).toBeUndefined();
    expect(await route('library/internal')).toBeUndefined();
    expect(await route('dockerhub')).toBe('hub library/dockerhub -> dockerhub/library/dockerhub (default)');
    expect(router.prefixed('mirror/quay/x' as RepositoryName)?.name).toBe('quay');
    expect(router.prefixed('mirror/quayx/x' as RepositoryName)).toBeUndefined();
  });
});

describe('retention unpulledfor', () => {
  const DAY = 86_400_000;
  const now = Date.parse('2030-01-31T00:00:00Z');
  const link = (daysAgo: number) => ({ digest: 'sha256:x' as never, pushedAt: new Date(now - daysAgo * DAY).toISOString() });
  const tags = new Map([
    ['old', link(40)],
    ['pulled', link(40)],
    ['new', link(2)],
  ] as [Tag, ReturnType<typeof link>][]);

  it('deletes tags neither pushed nor pulled within unpulledfor, and re-checks a tag pulled since the plan', () => {
    const policy = new RetentionPolicy([{ name: 'dockerhub/**', unpulledfor: 30 * DAY }]);
    const repo = 'dockerhub/library/python' as RepositoryName;
    expect(policy.needsPullTimes(repo)).toBe(true);
    expect(policy.needsPullTimes('team/app' as RepositoryName)).toBe(false);
    const plan = policy.plan(repo, tags, now, new Map([['pulled' as Tag, now - DAY]]));
    expect(plan.map((d) => [d.tag, d.pull])).toEqual([['old', { at: undefined }]]);
  });

  it('with olderthan too, both must hold', () => {
    const policy = new RetentionPolicy([{ name: '**', unpulledfor: DAY, olderthan: 30 * DAY }]);
    expect(policy.plan('a' as RepositoryName, tags, now, new Map()).map((d) => d.tag).sort()).toEqual(['old', 'pulled']);
  });
});

describe('config/examples/proxy.yaml', () => {
  it('loads, with two upstreams and retention rules that evict them', () => {
    const c = loadConfig(new URL('../../config/examples/proxy.yaml', import.meta.url).pathname, {});
    expect(c.proxy!.upstreams.map((u) => [u.name, u.prefix, u.default, u.tagttl])).toEqual([
      ['dockerhub', 'dockerhub', true, 3_600_000],
      ['ghcr', 'ghcr.io', false, 600_000],
    ]);
    expect(c.gc.retention.map((r) => [r.name, r.unpulledfor, r.deleteuntagged])).toEqual([
      ['dockerhub/**', 720 * 3_600_000, true],
      ['ghcr.io/**', 720 * 3_600_000, true],
    ]);
  });
});

describe('proxy credentials', () => {
  it('reads a numeric password as its digits, so that it never appears in an error', () => {
    const c = loadConfig(yaml('  upstreams:\n    - {name: a, url: "https://x.io", prefix: a, username: 42, password: 1234567}\n'), {});
    expect([c.proxy!.upstreams[0]!.username, c.proxy!.upstreams[0]!.password]).toEqual(['42', '1234567']);
  });
});
