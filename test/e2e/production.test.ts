/**
 * Running the real `wharf serve` as in production, with the real docker client:
 * - `/metrics` scraped after a docker push and pull (parsed with a Prometheus text parser) shows
 *   the requests, bytes and storage actions of that traffic;
 * - a webhook receiver gets the push, pull, mount and delete events of docker's traffic in CNCF
 *   Distribution's envelope, signed; down while Wharf restarts, it still gets every event after;
 * - SIGTERM during the push of a 1 GiB layer: the push finishes, /readyz answers 503 meanwhile,
 *   the process exits 0;
 * - Debian's stock /etc/docker/registry/config.yml (storage and htpasswd paths pointed at temporary
 *   files) starts Wharf with warnings only.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { htpasswdLine } from '../integration/auth-harness.js';
import { Scrape } from '../support/prometheus.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { dockerClient, dockerEnv, dockerHost } from './docker-env.js';
import { freePort, removeDir, requireTools, run, startWharf, tempDir, TOOLS, waitFor, type WharfServer } from './helpers.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function workDir(prefix: string): Promise<string> {
  const dir = await tempDir(prefix);
  cleanups.push(() => removeDir(dir));
  return dir;
}

async function wharfWith(yaml: string[], work: string, env: Record<string, string> = {}): Promise<{ wharf: WharfServer; debug: string }> {
  const debugPort = await freePort();
  const config = join(work, 'config.yml');
  await writeFile(config, [`http: {debug: {addr: "127.0.0.1:${debugPort}", prometheus: {enabled: true}}, draintimeout: 600s}`, ...yaml, ''].join('\n'));
  const wharf = await startWharf({ configFile: config, env });
  cleanups.push(() => wharf.dispose());
  return { wharf, debug: `http://127.0.0.1:${debugPort}` };
}

describe('wharf serve in production', () => {
  it('metrics and signed notifications of a docker push and pull; every event still arrives after the receiver was down across a restart', async () => {
    await requireTools(TOOLS.docker, TOOLS.tar);
    dockerHost();
    const work = await workDir('wharf-e2e-prod-');
    const receiver: Receiver = await startReceiver(SECRET);
    cleanups.push(() => receiver.close());
    const { wharf, debug } = await wharfWith([`notifications: {endpoints: [{name: hook, url: "${receiver.url}", secret: "${SECRET}", backoff: 100ms, threshold: 3}]}`], work);
    const docker = dockerClient(join(work, 'docker-config'));
    const image = `${wharf.host}/team/app:v1`;
    // an image of its own (a random layer), so that the pull below downloads its blobs
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    await writeFile(join(rootfs, 'random.bin'), randomBytes(600_000));
    await run('tar', ['-C', rootfs, '-cf', join(work, 'app.tar'), '.']);
    await docker(['import', join(work, 'app.tar'), image]);
    await docker(['push', image]);
    await docker(['tag', image, `${wharf.host}/team/copy:v1`]);
    await docker(['push', `${wharf.host}/team/copy:v1`]); // docker mounts the layer from team/app
    await docker(['rmi', image, `${wharf.host}/team/copy:v1`]);
    await docker(['pull', image]);
    const digest = /sha256:[0-9a-f]{64}/.exec((await docker(['image', 'inspect', '--format', '{{index .RepoDigests 0}}', image])).stdout)![0];
    expect((await fetch(`${wharf.url}/v2/team/copy/manifests/${digest}`, { method: 'DELETE' })).status).toBe(202);

    const m = new Scrape(await (await fetch(`${debug}/metrics`)).text());
    expect(m.value('registry_http_requests_total', { handler: 'manifest', method: 'PUT', code: '201' })).toBe(2);
    expect(m.value('registry_http_requests_total', { handler: 'manifest', method: 'GET', code: '200' })).toBeGreaterThanOrEqual(1);
    expect(m.value('registry_http_requests_total', { handler: 'blob_upload', method: 'POST', code: '201' })).toBeGreaterThanOrEqual(1); // the mount
    expect(m.value('registry_http_requests_total', { handler: 'blob', method: 'GET', code: '200' })).toBeGreaterThanOrEqual(2); // config and layer
    expect(m.value('wharf_upload_bytes_total')).toBeGreaterThan(600_000); // random bytes do not compress
    expect(m.value('wharf_blob_bytes_served_total')).toBeGreaterThan(600_000);
    expect(m.value('registry_http_request_duration_seconds', { handler: 'blob_upload_chunk' })).toBeGreaterThanOrEqual(2);
    expect(m.value('registry_storage_action_seconds', { driver: 'filesystem', action: 'Append' })).toBeGreaterThanOrEqual(2);
    expect(m.value('registry_storage_action_seconds', { driver: 'filesystem', action: 'PutContent' })).toBeGreaterThan(0);

    const wanted = (e: Record<string, unknown>) => `${String(e.action)} ${String((e.target as { repository: string }).repository)}`;
    await waitFor('the events of the push, mount, pull and delete', () => ['push team/app', 'mount team/copy', 'pull team/app', 'delete team/copy'].every((w) => receiver.events().map(wanted).includes(w)), { timeoutMs: 20_000 });
    expect(receiver.deliveries.every((d) => d.verified && d.headers['content-type'] === 'application/vnd.docker.distribution.events.v2+json')).toBe(true);
    const manifestPush = receiver.events().find((e) => e.action === 'push' && (e.target as { tag?: string }).tag === 'v1');
    expect(manifestPush).toMatchObject({ target: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', repository: 'team/app', url: expect.stringContaining('/v2/team/app/manifests/sha256:') }, request: { method: 'PUT', useragent: expect.stringContaining('docker/') } });

    // the receiver goes down; docker pushes; Wharf restarts; the receiver comes back: nothing is lost
    await receiver.down();
    await docker(['tag', image, `${wharf.host}/team/later:v2`]);
    await docker(['push', `${wharf.host}/team/later:v2`]);
    await wharf.restart();
    await receiver.up();
    await waitFor('the events queued while the receiver was down', () => receiver.events().some((e) => wanted(e) === 'mount team/later' || wanted(e) === 'push team/later') && receiver.events().some((e) => (e.target as { tag?: string }).tag === 'v2'), { timeoutMs: 30_000 });
    const later = receiver.events().filter((e) => (e.target as { repository: string }).repository === 'team/later');
    expect(later.at(-1)).toMatchObject({ action: 'push', target: { tag: 'v2' } }); // the manifest after its blobs
  });

  it('SIGTERM during a 1 GiB push lets the push finish; /readyz answers 503 meanwhile; the process exits 0', async () => {
    await requireTools(TOOLS.docker, TOOLS.tar);
    dockerHost();
    const work = await workDir('wharf-e2e-drain-');
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    await pipeline(
      (async function* () {
        for (let i = 0; i < Number(process.env.E2E_DRAIN_MIB ?? 1024); i++) yield randomBytes(1024 * 1024);
      })(),
      createWriteStream(join(rootfs, 'big.bin')),
    );
    await run('tar', ['-C', rootfs, '-cf', join(work, 'big.tar'), '.']);
    const { wharf, debug } = await wharfWith([], work, { WHARF_LOG_LEVEL: 'info' });
    const docker = dockerClient(join(work, 'docker-config'));
    const image = `${wharf.host}/big/app:v1`;
    await docker(['import', join(work, 'big.tar'), image], { timeoutMs: 600_000 });
    cleanups.push(() => docker(['rmi', image]));
    const push = spawn('docker', ['push', image], { env: dockerEnv(join(work, 'docker-config')), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    push.stdout.on('data', (d: Buffer) => (output += d.toString()));
    push.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const pushed = new Promise<number | null>((resolve) => push.on('exit', resolve));
    // SIGTERM once 100 MiB of the layer are in the upload session
    const uploaded = async () => {
      let most = 0;
      for (const f of existsSync(join(wharf.root, 'uploads')) ? await readdir(join(wharf.root, 'uploads'), { recursive: true }) : []) {
        if (f.endsWith('data')) most = Math.max(most, (await stat(join(wharf.root, 'uploads', f)).catch(() => ({ size: 0 }))).size);
      }
      return most;
    };
    await waitFor('100 MiB of the layer uploaded', async () => (await uploaded()) > 100 * 1024 * 1024, { timeoutMs: 300_000, intervalMs: 200 });
    process.kill(wharf.pid, 'SIGTERM');
    await waitFor('/readyz to answer 503', async () => (await fetch(`${debug}/readyz`)).status === 503, { timeoutMs: 5_000, intervalMs: 50 });
    expect(await pushed, `${output}\n--- wharf ---\n${wharf.logs()}`).toBe(0);
    expect(output).toMatch(/v1: digest: sha256:[0-9a-f]{64}/);
    const exit = await wharf.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    await wharf.restart();
    expect((await fetch(`${wharf.url}/v2/big/app/manifests/v1`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).status).toBe(200);
  }, 900_000);

  it("Debian's stock docker-registry config.yml starts Wharf with warnings only", async () => {
    const stock = '/etc/docker/registry/config.yml';
    expect(existsSync(stock), `${stock} is missing: install the Debian package docker-registry (.ci/run does)`).toBe(true);
    const work = await workDir('wharf-e2e-debian-');
    await writeFile(join(work, 'htpasswd'), `${htpasswdLine('alice', 'alice-pw')}\n`);
    const config = join(work, 'config.yml');
    const yaml = (await readFile(stock, 'utf8')).replace(/rootdirectory: .*/, `rootdirectory: ${join(work, 'data')}`).replace(/path: \/etc\/docker\/registry/, `path: ${join(work, 'htpasswd')}`);
    await writeFile(config, yaml);
    const wharf = await startWharf({ configFile: config, root: join(work, 'data'), env: { WHARF_LOG_LEVEL: 'info' } });
    cleanups.push(() => wharf.dispose());
    expect((await fetch(`${wharf.url}/v2/`)).status).toBe(401);
    const auth = `Basic ${Buffer.from('alice:alice-pw').toString('base64')}`;
    const res = await fetch(`${wharf.url}/v2/`, { headers: { Authorization: auth } });
    expect([res.status, res.headers.get('x-content-type-options')]).toEqual([200, 'nosniff']);
    expect((await fetch(`${wharf.url}/readyz`)).status).toBe(200);
    const lines = wharf.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; key?: string });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.filter((l) => l.level === 40).map((l) => l.key).sort()).toEqual(['log.fields', 'storage.cache']);
  });
});
