/**
 * `wharf build` end to end: the real `wharf` command builds FROM a busybox base pushed to a real
 * `wharf serve` as a two-platform index; the real Docker daemon pulls and runs the result, builds
 * the same Dockerfile with its legacy builder for comparison (files, modes, owners, config), loads
 * a docker-archive output; skopeo copies an oci: output. Reproducibility and the second push's
 * uploads are asserted from the registry's own access log.
 */
import { randomFillSync } from 'node:crypto';
import { cp, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient } from './docker-env.js';
import { once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, WHARF_MAIN, type WharfServer } from './helpers.js';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, putBlob, sha256 } from './oci-layout.js';

const MODEL_BYTES = 100 * 1024 * 1024;

const APP = `#!/bin/sh
echo "$GREETING"
pwd
id -u
wc -c < /models/model.bin
`;

const DOCKERFILE = (base: string) => `FROM ${base}
ENV GREETING="hello from app" APP_HOME=/srv/app
LABEL org.opencontainers.image.title="model server"
WORKDIR /srv/app
COPY app/ ./
COPY model.bin /models/
EXPOSE 8080
USER 1000:1000
ENTRYPOINT ["/bin/sh"]
CMD ["/srv/app/app.sh"]
`;

/** Busybox's rootfs as a reproducible tar (GNU tar), like the global setup's base image. */
async function busyboxTar(work: string, marker: string): Promise<Buffer> {
  const root = join(work, `rootfs-${marker}`);
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await cp('/bin/busybox', join(root, 'bin', 'busybox'));
  await writeFile(join(root, 'etc', 'platform'), `${marker}\n`);
  const applets = (await run('/bin/busybox', ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
  await run('sh', ['-c', `cd ${root}/bin && for a in ${applets.join(' ')}; do ln -s busybox "$a"; done`]);
  const file = join(work, `base-${marker}.tar`);
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', file, '.']);
  return readFile(file);
}

/**
 * Writes the two-platform base (linux/amd64 and linux/arm64/v8, an OCI index) into a layout. The
 * arm64 image holds the same busybox (only amd64 runs here) with another /etc/platform: it shows
 * which entry of the index a build used.
 */
async function writeBaseLayout(work: string, layout: string): Promise<void> {
  const manifests = [];
  for (const platform of [{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux', variant: 'v8' }]) {
    const rootfs = await busyboxTar(work, platform.architecture);
    const layer = await putBlob(layout, OCI_LAYER_GZIP, gzipSync(rootfs));
    const config = await putBlob(layout, OCI_CONFIG, JSON.stringify({
      ...platform,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [sha256(rootfs)] },
      history: [{ created_by: 'busybox-static' }],
    }));
    const manifest = await putBlob(layout, OCI_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }));
    manifests.push({ ...manifest, platform });
  }
  const index = await putBlob(layout, OCI_INDEX, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': 'base' } }] }));
}

/** A file of `size` random bytes, written 1 MiB at a time. */
async function randomFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < size; done += chunk.length) await handle.write(randomFillSync(chunk), 0, Math.min(chunk.length, size - done));
  await handle.close();
}

/** `name mode uid:gid type size link` of every entry of a `docker export` tar, sorted. */
async function exportListing(docker: ReturnType<typeof dockerClient>, image: string, work: string): Promise<string[]> {
  const id = (await docker(['create', image])).stdout.trim();
  const file = join(work, `${id}.tar`);
  await docker(['export', '-o', file, id]);
  await docker(['rm', id]);
  const extract = tar.extract();
  const lines: string[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      lines.push(`${h.name.replace(/\/$/, '')} ${(h.mode ?? 0).toString(8)} ${h.uid}:${h.gid} ${h.type} ${h.type === 'file' ? h.size : 0} ${h.linkname ?? ''}`);
      entry.resume();
    }
  })();
  extract.end(await readFile(file));
  await reading;
  return lines.sort();
}

describe('wharf build', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;

  const fixture = once(async () => {
    await requireTools(TOOLS.docker, TOOLS.skopeo, TOOLS.busybox, TOOLS.tar);
    work = await tempDir('wharf-e2e-build-');
    wharf = await startWharf({ env: { WHARF_LOG_LEVEL: 'info' } });
    const dir = work;
    const layout = join(dir, 'base-layout');
    await writeBaseLayout(dir, layout);
    const base = `${wharf.host}/base/busybox:1`;
    await run('skopeo', ['--insecure-policy', 'copy', '--all', '--dest-tls-verify=false', `oci:${layout}:base`, `docker://${base}`], { env: { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'auth.json') } });
    const context = join(dir, 'ctx');
    await mkdir(join(context, 'app'), { recursive: true });
    await writeFile(join(context, 'app', 'app.sh'), APP, { mode: 0o755 });
    await randomFile(join(context, 'model.bin'), MODEL_BYTES);
    await writeFile(join(context, 'Dockerfile'), DOCKERFILE(base));
    const docker = dockerClient(join(dir, 'docker-config'));
    const env = { ...process.env, WHARF_CACHE_DIR: join(dir, 'cache'), DOCKER_CONFIG: join(dir, 'docker-config') };
    const wharfBuild = (args: string[], opts: { allowFailure?: boolean; cache?: string } = {}) =>
      run(process.execPath, [WHARF_MAIN, 'build', ...args], { env: { ...env, ...(opts.cache ? { WHARF_CACHE_DIR: opts.cache } : {}) }, allowFailure: opts.allowFailure, timeoutMs: 240_000 });
    return { server: wharf, work: dir, context, base, docker, wharfBuild };
  });

  /** The first build, pushed as team/model:1. */
  const first = once(async () => {
    const { server, context, wharfBuild } = await fixture();
    const r = await wharfBuild(['--json', '-t', `${server.host}/team/model:1`, context]);
    return JSON.parse(r.stdout) as { digest: string; images: { layers: { digest: string }[] }[]; outputs: { blobs: Record<string, number> }[] };
  });

  afterAll(async () => {
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('builds FROM the two-platform base in Wharf; docker pull + run prints what the app prints, from WORKDIR, as USER', async () => {
    const { server, docker } = await fixture();
    const built = await first();
    expect(built.images[0]!.layers).toHaveLength(3);
    // the base's layer is mounted from base/busybox, never downloaded; the config, app and model layers are uploaded
    expect(built.outputs[0]!.blobs).toMatchObject({ mounted: 1, uploaded: 3, exists: 0 });
    const image = `${server.host}/team/model:1`;
    await docker(['pull', image]);
    const out = await docker(['run', '--rm', '--network', 'none', image]);
    expect(out.stdout.trim().split('\n').map((l) => l.trim())).toEqual(['hello from app', '/srv/app', '1000', String(MODEL_BYTES)]);
    const platform = await docker(['run', '--rm', '--network', 'none', '--entrypoint', 'cat', image, '/etc/platform']);
    expect(platform.stdout.trim()).toBe('amd64');
  });

  it('gives the files, modes, owners and config fields of DOCKER_BUILDKIT=0 docker build', async () => {
    const { server, docker, context, work: dir } = await fixture();
    await first();
    const ours = `${server.host}/team/model:1`;
    await docker(['pull', ours]);
    await docker(['build', '--network', 'none', '-q', '-t', 'wharf-e2e-docker-built:1', context], { timeoutMs: 300_000 });
    expect(await exportListing(docker, ours, dir)).toEqual(await exportListing(docker, 'wharf-e2e-docker-built:1', dir));
    const fields = async (image: string) => {
      const config = JSON.parse((await docker(['inspect', '--format', '{{json .Config}}', image])).stdout) as Record<string, unknown>;
      const keys = ['Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild'];
      return Object.fromEntries(keys.map((k) => [k, config[k] ?? null]));
    };
    expect(await fields(ours)).toEqual(await fields('wharf-e2e-docker-built:1'));
    await docker(['rmi', 'wharf-e2e-docker-built:1']);
  });

  it('gives the same digest again and from a copy of the context; a changed app keeps the model layer and pushes only the changed layer', async () => {
    const { server, context, work: dir, wharfBuild } = await fixture();
    const built = await first();
    const again = await wharfBuild(['-q', '-t', `${server.host}/team/model:1`, context]);
    expect(again.stdout.trim()).toBe(built.digest);
    const copy = join(dir, 'elsewhere', 'ctx');
    await cp(context, copy, { recursive: true });
    const moved = await wharfBuild(['-q', '--push=false', '--output', `oci:${join(dir, 'moved-layout')}`, copy], { cache: join(dir, 'other-cache') });
    expect(moved.stdout.trim()).toBe(built.digest);

    await writeFile(join(copy, 'app', 'app.sh'), `${APP}echo v2\n`, { mode: 0o755 });
    const logsBefore = server.logs().length;
    const second = JSON.parse((await wharfBuild(['--json', '-t', `${server.host}/team/model:2`, copy], { cache: join(dir, 'other-cache') })).stdout) as { images: { layers: { digest: string }[] }[] };
    const [baseLayer, appLayer, modelLayer] = second.images[0]!.layers.map((l) => l.digest);
    const [firstBase, firstApp, firstModel] = built.images[0]!.layers.map((l) => l.digest);
    expect([baseLayer, modelLayer]).toEqual([firstBase, firstModel]);
    expect(appLayer).not.toBe(firstApp);
    const requests = server
      .logs()
      .slice(logsBefore)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { req?: { method: string; path: string }; res?: { status: number } })
      .filter((l) => l.req?.path.startsWith('/v2/team/model/'));
    const uploads = requests.filter((l) => l.req!.method === 'POST' && l.req!.path === '/v2/team/model/blobs/uploads/');
    expect(uploads).toHaveLength(2); // the new app layer and the new config; not the 100 MiB model
    const heads = requests.filter((l) => l.req!.method === 'HEAD' && l.req!.path === `/v2/team/model/blobs/${firstModel}`);
    expect(heads.map((h) => h.res!.status)).toEqual([200]);
  });

  it('writes --output docker-archive for docker load + run, and oci:DIR for skopeo copy', async () => {
    const { server, context, work: dir, docker, wharfBuild } = await fixture();
    const built = await first();
    const archive = join(dir, 'image.tar');
    const layoutDir = join(dir, 'out-layout');
    const r = await wharfBuild(['-q', '--push=false', '-t', 'wharf-e2e/loaded:1', '--output', `docker-archive:${archive}`, '--output', `oci:${layoutDir}`, context]);
    expect(r.stdout.trim()).toBe(built.digest);
    await docker(['load', '-i', archive]);
    const out = await docker(['run', '--rm', '--network', 'none', 'wharf-e2e/loaded:1']);
    expect(out.stdout).toContain('hello from app');
    await docker(['rmi', 'wharf-e2e/loaded:1']);
    await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${layoutDir}:1`, `docker://${server.host}/team/copied:1`], { env: { ...process.env, REGISTRY_AUTH_FILE: join(dir, 'auth.json') } });
    const digest = await run('skopeo', ['inspect', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${server.host}/team/copied:1`]);
    expect(digest.stdout.trim()).toBe(built.digest);
  });

  it('stops at RUN with exit status 1 and one line naming the Dockerfile line', async () => {
    const { work: dir, base, wharfBuild } = await fixture();
    const context = join(dir, 'run-ctx');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'Dockerfile'), `FROM ${base}\nRUN echo hi\n`);
    const r = await wharfBuild(['-q', '--push=false', context], { allowFailure: true });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('wharf build: Dockerfile:2: RUN echo hi: wharf build runs no commands (it has no container runtime): move this step into the base image (build that with docker build), or build this Dockerfile with docker build');
  });
});
