/**
 * The pull-through cache end to end (issue 15's "Done when"): a real `wharf serve` caching CNCF
 * Distribution 2.8 (`docker-registry`, seeded with `library/busybox` as a two-platform index and a
 * 200 MiB single-layer image) and a Wharf with token authentication; pulled by a dockerd started with
 * `--registry-mirror`, by containerd's `ctr` with `hosts.toml` (and so `?ns=`), and by plain HTTP
 * clients; while the team pushes its own repository to the same instance.
 */
import { createHash } from 'node:crypto';
import { writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, describe, expect, it } from 'vitest';
import { once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type WharfServer } from './helpers.js';
import { startContainerd, startDistribution, startMirroredDockerd, type Containerd, type DistributionServer, type MirroredDockerd } from './proxy-env.js';
import { writeBigImage, writeBusyboxIndex } from './proxy-images.js';
import type { Descriptor } from './oci-layout.js';

const MiB = 1024 * 1024;
const BIG = 200 * MiB;
const TAG_TTL_S = 4;
const ALICE = 'alice-pw';

interface Env {
  work: string;
  distribution: DistributionServer;
  corp: WharfServer;
  wharf: WharfServer;
  dockerd: MirroredDockerd;
  containerd: Containerd;
  busybox: Descriptor;
  big: { manifest: Descriptor; layer: Descriptor };
}

const stops: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch((e: unknown) => console.warn(`[e2e proxy] cleanup: ${(e as Error).message}`));
});

/** skopeo copy of an OCI layout's `ref` to `dest` (a docker:// reference), plain HTTP. */
async function push(layout: string, ref: string, dest: string, creds?: string): Promise<void> {
  await run('skopeo', ['copy', '--all', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${layout}:${ref}`, `docker://${dest}`], { timeoutMs: 300_000 });
}

const env = once(async (): Promise<Env> => {
  await requireTools(TOOLS.docker, TOOLS.dockerd, TOOLS.skopeo, TOOLS.busybox, TOOLS.tar, TOOLS.containerd, TOOLS.ctr, TOOLS.distribution);
  const work = await tempDir('wharf-e2e-proxy-');
  stops.push(() => removeDir(work));
  // the upstreams: Distribution, and a Wharf with token authentication
  const distribution = await startDistribution(join(work, 'distribution'));
  stops.push(() => distribution.stop());
  const htpasswd = join(work, 'htpasswd');
  await writeFile(htpasswd, `alice:${bcrypt.hashSync(ALICE, 4)}\n`);
  const corpConfig = join(work, 'corp.yml');
  await writeFile(
    corpConfig,
    `version: 0.1\nauth:\n  token: {service: corp, issuer: corp}\n  htpasswd: {path: ${JSON.stringify(htpasswd)}}\n  acl:\n    - {account: authenticated, name: "\${account}/*", actions: ["*"]}\n`,
  );
  const corp = await startWharf({ configFile: corpConfig });
  stops.push(() => corp.dispose());
  const busybox = await writeBusyboxIndex(work, join(work, 'busybox'), 'latest');
  await push(join(work, 'busybox'), 'latest', `${distribution.host}/library/busybox:latest`);
  await push(join(work, 'busybox'), 'latest', `${distribution.host}/library/moving:1`);
  await push(join(work, 'busybox'), 'latest', `${corp.host}/alice/tool:1`, `alice:${ALICE}`);
  const big = await writeBigImage(work, join(work, 'big'), '1', BIG);
  await push(join(work, 'big'), '1', `${distribution.host}/library/big:1`);
  // the cache
  const config = join(work, 'wharf.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'proxy:',
      '  upstreams:',
      `    - {name: dockerhub, url: "${distribution.url}", prefix: dockerhub, default: true, namespaces: [docker.io], tagttl: ${TAG_TTL_S}s}`,
      `    - {name: corp, url: "${corp.url}", prefix: corp, username: alice, password: ${ALICE}}`,
      '',
    ].join('\n'),
  );
  const wharf = await startWharf({ configFile: config });
  stops.push(() => wharf.dispose());
  const dockerd = await startMirroredDockerd(wharf.url);
  stops.push(() => dockerd.stop());
  const containerd = await startContainerd();
  stops.push(() => containerd.stop());
  const mirror = `[host."${wharf.url}"]\n  capabilities = ["pull", "resolve"]\n`;
  await mkdir(join(containerd.hostsDir, 'docker.io'));
  await writeFile(join(containerd.hostsDir, 'docker.io', 'hosts.toml'), `server = "https://registry-1.docker.io"\n${mirror}`);
  await mkdir(join(containerd.hostsDir, '_default'));
  await writeFile(join(containerd.hostsDir, '_default', 'hosts.toml'), mirror);
  return { work, distribution, corp, wharf, dockerd, containerd, busybox, big };
});

/** The cache's repositories. */
async function catalog(wharf: WharfServer): Promise<string[]> {
  return ((await (await fetch(`${wharf.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;
}

/** GET of a manifest through the cache: its digest and Cache-Status. */
async function manifestDigest(wharf: WharfServer, path: string): Promise<{ digest: string | null; status: string | null }> {
  const res = await fetch(`${wharf.url}/v2/${path}`, { headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } });
  await res.arrayBuffer();
  return { digest: res.headers.get('docker-content-digest'), status: res.headers.get('cache-status') };
}

/** GETs `url`, hashing the body; aborts after `abortAfter` bytes when given. */
function pullBlob(url: string, abortAfter?: number): Promise<{ digest: string; bytes: number; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const req = request(url, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
        if (abortAfter !== undefined && bytes >= abortAfter) {
          req.destroy();
          resolve({ digest: '', bytes, aborted: true });
        }
      });
      res.on('end', () => resolve({ digest: `sha256:${hash.digest('hex')}`, bytes, aborted: false }));
      res.on('error', reject);
    });
    req.on('error', (err) => (abortAfter !== undefined ? resolve({ digest: '', bytes, aborted: true }) : reject(err)));
    req.end();
  });
}

describe('pull-through cache, end to end', () => {
  it('dockerd with --registry-mirror pulls busybox through Wharf and runs it', async () => {
    const { dockerd, wharf, distribution } = await env();
    await dockerd.docker(['pull', 'busybox']);
    const ran = await dockerd.docker(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'through the cache']);
    expect(ran.stdout.trim()).toBe('through the cache');
    expect(await catalog(wharf)).toContain('dockerhub/library/busybox');
    expect(distribution.count('GET', /^\/v2\/library\/busybox\/manifests\/latest$/)).toBeGreaterThanOrEqual(1);
  });

  it('containerd (ctr with hosts.toml, ?ns=) pulls Docker Hub names and another registry\'s through Wharf', async () => {
    const { containerd, wharf, corp } = await env();
    await containerd.ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', containerd.hostsDir, 'docker.io/library/busybox:latest']);
    // only ?ns= can route alice/tool to the corp upstream (it is not under a prefix, and the default upstream lacks it);
    // containerd itself has no credentials for corp, which refuses anonymous pulls
    await containerd.ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', containerd.hostsDir, `${corp.host}/alice/tool:1`]);
    expect(await catalog(wharf)).toEqual(expect.arrayContaining(['dockerhub/library/busybox', 'corp/alice/tool']));
  });

  it('proxies the Wharf with token authentication with the configured credentials', async () => {
    const { wharf, corp, work, busybox } = await env();
    expect((await fetch(`${corp.url}/v2/alice/tool/manifests/1`)).status).toBe(401);
    await run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${wharf.host}/corp/alice/tool:1`, `oci:${join(work, 'copied')}:1`], { timeoutMs: 120_000 });
    expect((await manifestDigest(wharf, 'corp/alice/tool/manifests/1')).digest).toBe(busybox.digest);
  });

  it("pushes to the team's own repository on the same instance", async () => {
    const { dockerd, wharf } = await env();
    const own = `${wharf.host}/team/app:1`;
    await dockerd.docker(['tag', 'busybox', own]);
    await dockerd.docker(['push', own]);
    await dockerd.docker(['rmi', own]);
    await dockerd.docker(['pull', own]);
    expect((await dockerd.docker(['run', '--rm', '--network', 'none', own, 'echo', 'own'])).stdout.trim()).toBe('own');
    expect(await catalog(wharf)).toContain('team/app');
  });

  it('20 concurrent cold pulls of the 200 MiB blob make one upstream GET and all verify; a client that leaves halfway stops nobody', async () => {
    const { wharf, distribution } = await env();
    // the layer as the upstream holds it (skopeo may have recompressed it on the way in)
    const manifest = (await (await fetch(`${wharf.url}/v2/dockerhub/library/big/manifests/1`)).json()) as { layers: Descriptor[] };
    const big = { layer: manifest.layers[0]! };
    expect(big.layer.size).toBeGreaterThan(BIG / 4);
    const url = `${wharf.url}/v2/dockerhub/library/big/blobs/${big.layer.digest}`;
    const pulls = [pullBlob(url, Math.floor(big.layer.size / 2)), ...Array.from({ length: 20 }, () => pullBlob(url))];
    const [leaver, ...rest] = await Promise.all(pulls);
    expect(leaver!.aborted).toBe(true);
    for (const p of rest) expect(p).toEqual({ digest: big.layer.digest, bytes: big.layer.size, aborted: false });
    expect(distribution.count('GET', new RegExp(`^/v2/library/big/blobs/${big.layer.digest}$`))).toBe(1);
    expect(await pullBlob(url)).toEqual({ digest: big.layer.digest, bytes: big.layer.size, aborted: false });
    expect(distribution.count('GET', new RegExp(`/blobs/${big.layer.digest}`))).toBe(1);
  });

  it('serves a moved upstream tag after tagttl, not before', async () => {
    const { wharf, work, distribution, busybox } = await env();
    const before = await manifestDigest(wharf, 'library/moving/manifests/1');
    const checkedAt = Date.now();
    expect(before.digest).toBe(busybox.digest);
    const moved = await writeBusyboxIndex(work, join(work, 'moved'), '1', 'moved');
    await push(join(work, 'moved'), '1', `${distribution.host}/library/moving:1`);
    let first: number | undefined;
    for (;;) {
      const now = await manifestDigest(wharf, 'library/moving/manifests/1');
      if (now.digest === moved.digest) {
        first = Date.now();
        break;
      }
      expect(now.digest).toBe(busybox.digest);
      expect(Date.now() - checkedAt).toBeLessThan(TAG_TTL_S * 1000 + 30_000);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(first - checkedAt).toBeGreaterThanOrEqual(TAG_TTL_S * 1000);
  });

  it("runs CNCF Distribution's own pull-through configuration file unchanged, caching the same upstream", async () => {
    const { distribution, busybox, work } = await env();
    // cmd/registry/config-cache.yml as Distribution ships it; only what this machine needs comes from the
    // environment: the upstream's URL, the storage folder and the addresses (the file says :5000 and localhost:5001)
    const stock = await startWharf({
      configFile: join(import.meta.dirname, '../fixtures/distribution/config-cache.yml'),
      env: { WHARF_PROXY_REMOTEURL: distribution.url, WHARF_HTTP_DEBUG_ADDR: '127.0.0.1:0' },
    });
    stops.push(() => stock.dispose());
    const prefix = new URL(distribution.url).host.replace(':', '-');
    // as a registry-mirrors entry: the upstream's own names
    await run('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${stock.host}/library/busybox:latest`, `oci:${join(work, 'stock-copy')}:latest`], { timeoutMs: 120_000 });
    const got = await manifestDigest(stock, 'library/busybox/manifests/latest');
    expect(got).toEqual({ digest: busybox.digest, status: 'Wharf; hit' });
    expect(await catalog(stock)).toEqual([`${prefix}/library/busybox`]);
  });

  it('with the upstreams stopped, dockerd and containerd still pull from the cache', async () => {
    const { dockerd, containerd, distribution, corp, wharf } = await env();
    await distribution.stop();
    await corp.stop();
    // busybox:latest was last checked in an earlier test, longer than tagttl ago: the cache asks the upstream, then serves stale
    await dockerd.docker(['rmi', 'busybox']);
    await dockerd.docker(['pull', 'busybox']);
    expect((await dockerd.docker(['run', '--rm', '--network', 'none', 'busybox', 'echo', 'offline'])).stdout.trim()).toBe('offline');
    await containerd.ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', containerd.hostsDir, 'docker.io/library/busybox:latest'], 'offline');
    await containerd.ctr(['images', 'pull', '--snapshotter', 'native', '--hosts-dir', containerd.hostsDir, `${corp.host}/alice/tool:1`], 'offline');
    expect((await manifestDigest(wharf, 'library/busybox/manifests/latest')).status).toBe('Wharf; fwd=stale; detail=stale-if-error');
  });
});
