/**
 * `wharf build` (src/build/) against the real Wharf app on a loopback port: multi-stage builds with
 * COPY --from (a stage, an image), --target, ARG and --build-arg, .dockerignore exceptions, ADD of a
 * local tar, the config Docker would store, reproducible digests (twice, from another folder,
 * without the cache), large files in layers of their own, manifest families and indexes.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, expect, it } from 'vitest';
import { build, type BuildOptions } from '../../src/build/build.js';
import { parseOutputs, writeOutputs } from '../../src/build/output.js';
import { parseImageReference, RegistryClient } from '../../src/client/index.js';
import { forEachDriver } from './harness.js';
import { makeTar, pushBase, readLayoutImage, writeFiles, type FileSpec } from '../support/build-fixtures.js';

const dirs: string[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'wharf-build-'));
  dirs.push(d);
  return d;
}

function client(): RegistryClient {
  const c = new RegistryClient({ retry: { retries: 1, baseDelayMs: 10 } });
  clients.push(c);
  return c;
}

/** Writes a context, builds it to an OCI layout, reads the layout back. */
async function buildLayout(files: Record<string, FileSpec>, options: Partial<BuildOptions> = {}, c = client()) {
  const work = await tempDir();
  const context = join(work, 'ctx');
  await writeFiles(context, files);
  const result = await build({ context, cacheDir: join(work, 'cache'), client: c, ...options });
  const out = join(work, 'out');
  await writeOutputs(c, result, [], parseOutputs([`oci:${out}`]), { push: false });
  return { result, layout: await readLayoutImage(out), context, work };
}

const BUSYBOX_LIKE = (arch: string) => [
  [
    { path: 'bin', type: 'directory' as const },
    { path: 'bin/sh', content: `#!fake shell ${arch}`, mode: 0o755 },
    { path: 'etc', type: 'directory' as const },
    { path: 'etc/platform', content: arch },
    { path: 'etc/old', content: 'removed by the next layer' },
  ],
  [{ path: 'etc/.wh.old' }, { path: 'etc/motd', content: `hello ${arch}` }],
];

forEachDriver((make) => {
  it('builds a multi-stage Dockerfile: COPY --from a stage and an image, --target, ARG and --build-arg', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const c = client();
    await pushBase(c, parseImageReference(`${host}/base/os:1`), [
      { platform: { os: 'linux', architecture: 'amd64' }, layers: BUSYBOX_LIKE('amd64') },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: BUSYBOX_LIKE('arm64') },
    ]);
    const files = {
      'src/small.txt': 'small data',
      'src/large.txt': 'large data',
      Dockerfile: [
        'ARG VARIANT=small',
        'ARG BASE',
        'FROM scratch AS data',
        'ARG VARIANT',
        'COPY src/${VARIANT}.txt /out/data.txt',
        'FROM scratch AS unused',
        'COPY does-not-exist /x',
        `FROM \${BASE} AS final`,
        'ARG BASE',
        'COPY --from=data /out/data.txt /app/',
        'COPY --from=0 /out /app/copied/',
        'COPY --from=${BASE} /etc/platform /etc/motd /app/base/',
        '',
      ].join('\n'),
    };
    const base = `${host}/base/os:1`;
    const { layout } = await buildLayout(files, { buildArgs: [`BASE=${base}`] }, c);
    expect(layout.manifest.layers).toHaveLength(2 + 3);
    const own = layout.layers.slice(2).map((l) => l.map((e) => `${e.path}=${e.content ?? ''}`));
    expect(own).toEqual([
      ['app/=', 'app/data.txt=small data'],
      ['app/=', 'app/copied/=', 'app/copied/data.txt=small data'],
      ['app/=', 'app/base/=', 'app/base/motd=hello amd64', 'app/base/platform=amd64'],
    ]);

    const large = await buildLayout(files, { buildArgs: [`BASE=${base}`, 'VARIANT=large'], target: 'data' }, c);
    expect(large.layout.layers.map((l) => l.map((e) => `${e.path}=${e.content ?? ''}`))).toEqual([['out/=', 'out/data.txt=large data']]);

    const arm = await buildLayout(files, { buildArgs: [`BASE=${base}`], platforms: [{ os: 'linux', architecture: 'arm64' }] }, c);
    expect(arm.layout.layers.at(-1)!.filter((e) => e.type === 'file').map((e) => e.content)).toEqual(['hello arm64', 'arm64']);
    expect(arm.layout.config.architecture).toBe('arm64');
  });

  it('builds every platform of a two-platform base into an index of the base family, sharing the COPY layers', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const c = client();
    for (const format of ['oci', 'docker'] as const) {
      await pushBase(c, parseImageReference(`${host}/base/${format}:1`), [
        { platform: { os: 'linux', architecture: 'amd64' }, layers: BUSYBOX_LIKE('amd64') },
        { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: BUSYBOX_LIKE('arm64') },
      ], format);
      const { layout } = await buildLayout({ 'a.txt': 'a', Dockerfile: `FROM ${host}/base/${format}:1\nCOPY a.txt /\n` }, { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] }, c);
      expect(layout.root.mediaType).toBe(format === 'oci' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.docker.distribution.manifest.list.v2+json');
      expect(layout.rootJson.manifests!.map((m) => m.platform)).toEqual([{ architecture: 'amd64', os: 'linux' }, { architecture: 'arm64', os: 'linux' }]);
      expect(layout.manifest.mediaType).toBe(format === 'oci' ? 'application/vnd.oci.image.manifest.v1+json' : 'application/vnd.docker.distribution.manifest.v2+json');
      expect(layout.manifest.layers.at(-1)!.mediaType).toBe(format === 'oci' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    }
  });
});

it('stores the config as Docker does: ENV, LABEL, WORKDIR, USER, EXPOSE, VOLUME, shell and exec forms, HEALTHCHECK, SHELL, STOPSIGNAL', async () => {
  const dockerfile = [
    'FROM scratch',
    'ENV A=1 B="two words"',
    'ENV C=${A}x A=2',
    'LABEL org.example.team="data science" version=$A',
    'WORKDIR /srv',
    'WORKDIR app',
    'USER 1000:1000',
    'EXPOSE 80 8000-8001/udp',
    'VOLUME ["/data"]',
    'CMD ["base-cmd"]',
    'ENTRYPOINT python -m app',
    'SHELL ["/bin/bash", "-c"]',
    'HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/ || exit 1',
    'STOPSIGNAL SIGTERM',
    'ONBUILD COPY . /app',
    '',
  ].join('\n');
  const { layout } = await buildLayout({ Dockerfile: dockerfile });
  expect(layout.config.config).toEqual({
    Env: ['A=2', 'B=two words', 'C=1x'],
    Labels: { 'org.example.team': 'data science', version: '2' },
    WorkingDir: '/srv/app',
    User: '1000:1000',
    ExposedPorts: { '80/tcp': {}, '8000/udp': {}, '8001/udp': {} },
    Volumes: { '/data': {} },
    Cmd: ['base-cmd'],
    Entrypoint: ['/bin/sh', '-c', 'python -m app'],
    Shell: ['/bin/bash', '-c'],
    Healthcheck: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 30_000_000_000, Retries: 3 },
    StopSignal: 'SIGTERM',
    OnBuild: ['COPY . /app'],
  });
  expect(layout.config.created).toBe('1970-01-01T00:00:00Z');
  expect(layout.config.history.every((h) => h.empty_layer)).toBe(true);
});

it('ENTRYPOINT clears a CMD inherited from an earlier stage, not one set in the same stage', async () => {
  const { layout } = await buildLayout({ Dockerfile: 'FROM scratch AS a\nCMD ["x"]\nFROM a\nENTRYPOINT ["e"]\n' });
  expect(layout.config.config.Cmd).toBeNull();
  const same = await buildLayout({ Dockerfile: 'FROM scratch\nCMD ["x"]\nENTRYPOINT ["e"]\n' });
  expect(same.layout.config.config.Cmd).toEqual(['x']);
});

it('honours .dockerignore with ** and ! exceptions, and Dockerfile.dockerignore over it', async () => {
  const files = {
    'app/main.py': 'print(1)',
    'app/debug.log': 'log',
    'app/keep.log': 'kept',
    'app/tmp/x': 'x',
    'deep/a/tmp/y': 'y',
    'secrets/key': 'k',
    '.dockerignore': '# comment\n**/*.log\n!app/keep.log\nsecrets\n**/tmp\n',
    Dockerfile: 'FROM scratch\nCOPY . /ctx/\n',
  };
  const { layout } = await buildLayout(files);
  expect(layout.layers[0]!.map((e) => e.path)).toEqual(['ctx/', 'ctx/.dockerignore', 'ctx/Dockerfile', 'ctx/app/', 'ctx/app/keep.log', 'ctx/app/main.py', 'ctx/deep/', 'ctx/deep/a/']);
  const own = await buildLayout({ ...files, 'Dockerfile.dockerignore': 'app\n' });
  expect(own.layout.layers[0]!.map((e) => e.path)).toEqual(['ctx/', 'ctx/.dockerignore', 'ctx/Dockerfile', 'ctx/Dockerfile.dockerignore', 'ctx/deep/', 'ctx/deep/a/', 'ctx/deep/a/tmp/', 'ctx/deep/a/tmp/y', 'ctx/secrets/', 'ctx/secrets/key']);
});

it('ADD extracts a local tar (gzip or not) keeping its owners and modes; other files are copied', async () => {
  const archive = await makeTar([
    { path: 'pkg', type: 'directory' },
    { path: 'pkg/run', content: 'run', mode: 0o4755, uid: 1000, gid: 100 },
    { path: 'pkg/link', type: 'symlink', linkname: 'run' },
  ]);
  const { layout } = await buildLayout({ 'pkg.tar.gz': { content: gzipSync(archive) }, 'plain.tar': { content: archive }, 'note.txt': 'n', Dockerfile: 'FROM scratch\nADD pkg.tar.gz /opt/\nADD plain.tar note.txt /plain/\n' });
  const show = (l: { path: string; mode: number; uid: number; gid: number; type: string }[]) => l.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}`);
  expect(show(layout.layers[0]!)).toEqual(['opt/ directory 755 0:0', 'opt/pkg/ directory 755 0:0', 'opt/pkg/link symlink 777 0:0', 'opt/pkg/run file 4755 1000:100']);
  expect(show(layout.layers[1]!)).toEqual(['plain/ directory 755 0:0', 'plain/note.txt file 644 0:0', 'plain/pkg/ directory 755 0:0', 'plain/pkg/link symlink 777 0:0', 'plain/pkg/run file 4755 1000:100']);
});

it('gives the same digests twice, from a copy in another folder and without the cache; SOURCE_DATE_EPOCH sets every mtime', async () => {
  const files = { 'app/run.sh': { content: 'echo hi', mode: 0o755 }, 'app/data/x.bin': 'x'.repeat(5000), Dockerfile: 'FROM scratch\nCOPY --chmod=640 app/data /data/\nCOPY --chown=1000:1000 app /app/\n' };
  const first = await buildLayout(files);
  const again = await build({ context: first.context, cacheDir: join(first.work, 'cache'), client: client() });
  expect(again.root.digest).toBe(first.result.root.digest);
  const elsewhere = await tempDir();
  await cp(first.context, join(elsewhere, 'moved'), { recursive: true });
  const moved = await build({ context: join(elsewhere, 'moved'), cacheDir: join(elsewhere, 'cache'), client: client(), noCache: true });
  expect(moved.root.digest).toBe(first.result.root.digest);
  const entries = first.layout.layers.flat();
  expect(entries.every((e) => e.mtime === 0 && e.uname === '')).toBe(true);
  expect(first.layout.layers[0]!.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual(['data/ 755', 'data/x.bin 640']);
  expect(first.layout.layers[1]!.map((e) => `${e.path} ${e.mode.toString(8)} ${e.uid}`)).toEqual(['app/ 755 1000', 'app/data/ 755 1000', 'app/data/x.bin 644 1000', 'app/run.sh 755 1000']);
  const dated = await build({ context: first.context, cacheDir: join(first.work, 'cache'), client: client(), epoch: 1_700_000_000 });
  expect(dated.root.digest).not.toBe(first.result.root.digest);
});

it('puts files above the split threshold in layers of their own, unchanged when the files beside them change', async () => {
  const files = { 'model.bin': { content: Buffer.alloc(300_000, 7) }, 'app.py': 'v1', Dockerfile: 'FROM scratch\nCOPY model.bin app.py /srv/\n' };
  const first = await buildLayout(files, { splitThreshold: 100_000 });
  expect(first.layout.layers.map((l) => l.map((e) => e.path))).toEqual([['srv/', 'srv/app.py'], ['srv/', 'srv/model.bin']]);
  expect(first.layout.config.history.at(-1)!.created_by).toContain('/srv/model.bin: a layer of its own');
  await writeFile(join(first.context, 'app.py'), 'v2');
  const second = await build({ context: first.context, cacheDir: join(first.work, 'cache'), client: client(), splitThreshold: 100_000 });
  const layers = second.images[0]!.layers.map((l) => l.desc.digest);
  expect(layers[1]).toBe(first.layout.manifest.layers[1]!.digest);
  expect(layers[0]).not.toBe(first.layout.manifest.layers[0]!.digest);
});
