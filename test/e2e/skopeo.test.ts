/**
 * skopeo against a real `wharf serve`: OCI layouts copied in and back out with identical digests
 * (a single image exported from the Docker daemon, and a hand-written two-platform image index
 * copied with --all), tag listing, and deletion.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type RunOptions, type RunResult, type WharfServer } from './helpers.js';
import { layoutRef, OCI_INDEX, OCI_MANIFEST, readBlob, sha256, writeMultiPlatformLayout, type Descriptor } from './oci-layout.js';

describe('skopeo', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;

  /** Wharf, a work dir, and a `skopeo` runner that touches no user configuration. */
  const fixture = once(async () => {
    await requireTools(TOOLS.skopeo, TOOLS.tar);
    work = await tempDir('wharf-e2e-skopeo-');
    wharf = await startWharf();
    const env: NodeJS.ProcessEnv = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json'), DOCKER_CONFIG: join(work, 'docker-config') };
    const skopeo = (args: string[], opts: RunOptions = {}): Promise<RunResult> =>
      run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000, ...opts, env });
    const dir = work;
    return { wharf, work: dir, skopeo, registry: `docker://${wharf.host}` };
  });

  /** The base image exported from the Docker daemon into an OCI layout (`oci:<dir>:base`). */
  const baseLayout = once(async () => {
    const { work: dir, skopeo } = await fixture();
    const host = dockerHost();
    const layout = join(dir, 'base-layout');
    await skopeo(['copy', '--src-daemon-host', host, `docker-daemon:${BASE_IMAGE}`, `oci:${layout}:base`]);
    return layout;
  });

  /** The hand-written two-platform layout, `oci:<dir>:multi`. */
  const multiLayout = once(async () => {
    const { work: dir } = await fixture();
    const layout = join(dir, 'multi-layout');
    return { layout, ...(await writeMultiPlatformLayout(dir, layout, 'multi')) };
  });

  /** The multi-platform index copied into Wharf as sk/multi:1. */
  const multiPushed = once(async () => {
    const { skopeo, registry } = await fixture();
    const { layout } = await multiLayout();
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:multi`, `${registry}/sk/multi:1`]);
  });

  afterAll(async () => {
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('copies an image from an OCI layout into Wharf and back out with identical digests', async () => {
    const { skopeo, registry, work: dir, wharf: server } = await fixture();
    const layout = await baseLayout();
    const local = await layoutRef(layout, 'base');
    const localRaw = (await skopeo(['inspect', '--raw', `oci:${layout}:base`])).stdout;
    expect(sha256(localRaw)).toBe(local.digest);

    await skopeo(['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:base`, `${registry}/sk/base:1`]);
    const remoteRaw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `${registry}/sk/base:1`])).stdout;
    expect(sha256(remoteRaw)).toBe(local.digest);
    const remoteDigest = (await skopeo(['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `${registry}/sk/base:1`])).stdout.trim();
    expect(remoteDigest).toBe(local.digest);
    const head = await fetch(`${server.url}/v2/sk/base/manifests/1`, { method: 'HEAD', headers: { Accept: OCI_MANIFEST } });
    expect(head.status, server.logs()).toBe(200);
    expect(head.headers.get('docker-content-digest')).toBe(local.digest);
    expect(head.headers.get('content-type')).toBe(OCI_MANIFEST);

    const back = join(dir, 'base-back');
    await skopeo(['copy', '--preserve-digests', '--src-tls-verify=false', `${registry}/sk/base:1`, `oci:${back}:back`]);
    expect((await layoutRef(back, 'back')).digest).toBe(local.digest);
    const manifest = JSON.parse(remoteRaw) as { config: Descriptor; layers: Descriptor[] };
    for (const blob of [manifest.config, ...manifest.layers]) {
      expect(sha256(await readBlob(back, blob.digest)), blob.digest).toBe(blob.digest);
      expect(await readBlob(back, blob.digest)).toEqual(await readBlob(layout, blob.digest));
    }
  });

  it('copies a two-platform OCI image index with --all, preserving the index and both manifests', async () => {
    const { skopeo, registry, work: dir, wharf: server } = await fixture();
    const { layout, index, images } = await multiLayout();
    await multiPushed();

    const remoteIndex = (await skopeo(['inspect', '--raw', '--tls-verify=false', `${registry}/sk/multi:1`])).stdout;
    expect(sha256(remoteIndex)).toBe(index.digest);
    expect(Buffer.from(remoteIndex)).toEqual(await readBlob(layout, index.digest));
    const get = await fetch(`${server.url}/v2/sk/multi/manifests/1`, { headers: { Accept: `${OCI_INDEX}, ${OCI_MANIFEST}` } });
    expect(get.status, server.logs()).toBe(200);
    expect(get.headers.get('content-type')).toBe(OCI_INDEX);
    expect(get.headers.get('docker-content-digest')).toBe(index.digest);

    for (const image of images) {
      const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `${registry}/sk/multi@${image.manifest.digest}`])).stdout;
      expect(sha256(raw)).toBe(image.manifest.digest);
      const arch = image.platform.architecture;
      const inspected = JSON.parse(
        (await skopeo(['inspect', '--tls-verify=false', '--override-os', 'linux', '--override-arch', arch, `${registry}/sk/multi:1`])).stdout,
      ) as { Architecture: string; Layers: string[] };
      // skopeo resolves the index to this platform's manifest (its Digest field names the index itself).
      expect(inspected.Architecture).toBe(arch);
      expect(inspected.Layers).toEqual([image.layer.digest]);
    }

    const back = join(dir, 'multi-back');
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `${registry}/sk/multi:1`, `oci:${back}:multi`]);
    expect((await layoutRef(back, 'multi')).digest).toBe(index.digest);
    for (const digest of [index.digest, ...images.flatMap((i) => [i.manifest.digest, i.config.digest, i.layer.digest])]) {
      expect(await readBlob(back, digest), digest).toEqual(await readBlob(layout, digest));
    }
  });

  it('lists the tags of a repository', async () => {
    const { skopeo, registry } = await fixture();
    await multiPushed();
    for (const tag of ['2', 'latest']) {
      await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', `${registry}/sk/multi:1`, `${registry}/sk/multi:${tag}`]);
    }
    const listed = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `${registry}/sk/multi`])).stdout) as {
      Repository: string;
      Tags: string[];
    };
    expect(listed.Repository).toBe(`${registry.slice('docker://'.length)}/sk/multi`);
    expect([...listed.Tags].sort()).toEqual(['1', '2', 'latest']);
  });

  it('deletes a tagged manifest by digest, after which inspecting it fails', async () => {
    const { skopeo, registry, wharf: server } = await fixture();
    const { layout, index } = await multiLayout();
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:multi`, `${registry}/sk/doomed:1`]);
    await multiPushed();
    const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `${registry}/sk/doomed:1`])).stdout;
    expect(sha256(raw)).toBe(index.digest);

    await skopeo(['delete', '--tls-verify=false', `${registry}/sk/doomed@${index.digest}`]);

    for (const ref of [`${registry}/sk/doomed:1`, `${registry}/sk/doomed@${index.digest}`]) {
      const inspect = await skopeo(['inspect', '--raw', '--tls-verify=false', ref], { allowFailure: true });
      expect(inspect.code, `${ref} after delete:\n${inspect.output}`).not.toBe(0);
      expect(inspect.stderr.toLowerCase()).toMatch(/manifest unknown|not found/);
    }
    const res = await fetch(`${server.url}/v2/sk/doomed/manifests/${index.digest}`, { method: 'HEAD', headers: { Accept: OCI_INDEX } });
    expect(res.status, server.logs()).toBe(404);
    const listed = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `${registry}/sk/doomed`], { allowFailure: true })).stdout || '{}') as {
      Tags?: string[];
    };
    expect(listed.Tags ?? []).not.toContain('1');
    // The same content under another repository is untouched.
    const other = await skopeo(['inspect', '--raw', '--tls-verify=false', `${registry}/sk/multi@${index.digest}`]);
    expect(sha256(other.stdout)).toBe(index.digest);
  });
});
