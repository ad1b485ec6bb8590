/**
 * podman (Debian's, rootful) against a real `wharf serve`: zstd:chunked partial pulls. podman pushes
 * two images as zstd:chunked (`--compression-format zstd:chunked`) that differ in one file, changed at
 * its start and at its end; a second podman store pulls the first image whole, then the second one
 * partially: containers/storage fetches the layer's table of contents and only the chunks it does not
 * have, in ranged GETs of several ranges (206 `multipart/byteranges`). The access log's bytes (what
 * Wharf sent) prove that far less than the layer was fetched.
 *
 * Partial pulls need containers/storage's `overlay` driver (the `vfs` driver falls back to a whole
 * download) and `enable_partial_images` in storage.conf. Each store is a temporary `--root`/`--runroot`
 * with its own storage.conf, registries.conf, policy and libpod tmpdir, so the system's are never used.
 */
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type RunResult, type WharfServer } from './helpers.js';

interface AccessLine {
  req?: { method: string; path: string };
  res?: { status: number | null; bytes: number };
}

describe('podman: zstd:chunked partial pulls', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;
  const stores: Array<(args: string[]) => Promise<RunResult>> = [];

  /** A podman with a store of its own under `dir`. */
  async function podmanStore(dir: string, registry: string): Promise<(args: string[]) => Promise<RunResult>> {
    const root = join(dir, 'root');
    const runroot = join(dir, 'run');
    const tmp = join(dir, 'tmp');
    await mkdir(tmp, { recursive: true });
    const storageConf = join(dir, 'storage.conf');
    await writeFile(
      storageConf,
      ['[storage]', 'driver = "overlay"', `graphroot = "${root}"`, `runroot = "${runroot}"`, '[storage.options]', 'pull_options = {enable_partial_images = "true", use_hard_links = "false"}', ''].join('\n'),
    );
    const registriesConf = join(dir, 'registries.conf');
    await writeFile(registriesConf, ['unqualified-search-registries = []', '[[registry]]', `location = "${registry}"`, 'insecure = true', ''].join('\n'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const env = { ...process.env, CONTAINERS_STORAGE_CONF: storageConf, CONTAINERS_REGISTRIES_CONF: registriesConf, TMPDIR: tmp };
    const global = ['--root', root, '--runroot', runroot, '--storage-driver', 'overlay', '--tmpdir', tmp, '--events-backend', 'none'];
    const podman = (args: string[]): Promise<RunResult> => {
      const [verb, ...rest] = args;
      const policyFlag = verb === 'pull' || verb === 'push' ? ['--signature-policy', policy] : [];
      return run('podman', [...global, verb!, ...policyFlag, ...rest], { env, timeoutMs: 180_000 });
    };
    stores.push(podman);
    return podman;
  }

  const fixture = once(async () => {
    await requireTools(TOOLS.podman, TOOLS.busybox, TOOLS.tar);
    work = await tempDir('wharf-e2e-podman-');
    wharf = await startWharf({ env: { WHARF_LOG_LEVEL: 'info' } });
    const pusher = await podmanStore(join(work, 'a'), wharf.host);
    const puller = await podmanStore(join(work, 'b'), wharf.host);
    return { wharf, work, pusher, puller };
  });

  afterAll(async () => {
    try {
      for (const podman of stores) await podman(['rmi', '--all', '--force']).catch(() => undefined);
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  /** Writes a root file system of busybox, the small files and the big one under `dir`, and its tar. */
  async function imageTar(dir: string, big: Buffer, small: Buffer[]): Promise<string> {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await writeFile(join(rootfs, 'bin', 'busybox'), await readFile('/bin/busybox'));
    await writeFile(join(rootfs, 'big.bin'), big);
    for (const [i, bytes] of small.entries()) await writeFile(join(rootfs, `small${i}`), bytes);
    const tar = join(dir, 'rootfs.tar');
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    return tar;
  }

  it('pulls an image that differs in one file by fetching only its changed chunks (206 multipart/byteranges)', async () => {
    const { wharf: server, work: dir, pusher, puller } = await fixture();
    const big = randomBytes(4_000_000);
    const small = Array.from({ length: 10 }, () => randomBytes(50_000));
    const changed = Buffer.from(big);
    changed.fill(0x41, 0, 100); // the one file differs at its start and at its end: two chunks apart
    changed.fill(0x42, changed.length - 100);
    const images = [
      { name: 'pz/base:1', tar: await imageTar(join(dir, 'one'), big, small) },
      { name: 'pz/app:1', tar: await imageTar(join(dir, 'two'), changed, small) },
    ];
    for (const image of images) {
      await pusher(['import', image.tar, `localhost/${image.name}`]);
      await pusher(['push', '--tls-verify=false', '--compression-format', 'zstd:chunked', `localhost/${image.name}`, `docker://${server.host}/${image.name}`]);
    }
    const manifest = (await (
      await fetch(`${server.url}/v2/pz/app/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    ).json()) as { layers: { digest: string; size: number; mediaType: string; annotations?: Record<string, string> }[] };
    const layer = manifest.layers[0]!;
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(Object.keys(layer.annotations ?? {})).toContain('io.containers.zstd-chunked.manifest-checksum');

    await puller(['pull', '--tls-verify=false', `${server.host}/pz/base:1`]);
    const before = server.logs().length;
    await puller(['pull', '--tls-verify=false', `${server.host}/pz/app:1`]);
    const lines = server
      .logs()
      .slice(before)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AccessLine)
      .filter((l) => l.req?.method === 'GET' && l.req.path === `/v2/pz/app/blobs/${layer.digest}`);
    expect(lines.length, server.logs().slice(before)).toBeGreaterThanOrEqual(2); // the table of contents, then the chunks
    expect(lines.map((l) => l.res?.status)).toEqual(lines.map(() => 206));
    const fetched = lines.reduce((sum, l) => sum + (l.res?.bytes ?? 0), 0);
    expect(fetched).toBeLessThan(layer.size / 10);
    // the partially pulled image holds the changed file, byte for byte
    const mounted = (await puller(['image', 'mount', `${server.host}/pz/app:1`])).stdout.trim();
    try {
      expect((await readFile(join(mounted, 'big.bin'))).equals(changed)).toBe(true);
      expect((await readFile(join(mounted, 'small3'))).equals(small[3]!)).toBe(true);
    } finally {
      await puller(['image', 'unmount', `${server.host}/pz/app:1`]);
    }
  });
});
