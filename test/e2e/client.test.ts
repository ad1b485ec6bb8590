/**
 * The `wharf` client end to end against three real registries: Wharf, Wharf with token auth and
 * CNCF Distribution 2.8.2. Pushes a `docker save` tarball and an OCI layout that docker then pulls
 * and runs; pulls to a `docker load` tarball (loaded and run) and to an OCI layout that skopeo
 * copies with identical digests; `tag` uploads nothing (the registry's access log); and a
 * two-platform index with a referrer copied Wharf -> Distribution -> Wharf keeps every digest and
 * its referrer, and `--platform` copies one image.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageReference, RegistryClient, listReferrers, listTags, StaticCredentials } from '../../src/client/index.js';
import { writeIndexLayout } from '../support/layouts.js';
import { startDistribution, startTokenWharf, wharf, wharfRegistry, type E2eRegistry } from './client-support.js';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, run, startWharf, tempDir, TOOLS } from './helpers.js';

const REGISTRIES: Record<string, () => Promise<E2eRegistry>> = {
  wharf: async () => wharfRegistry(await startWharf({ env: { WHARF_LOG_LEVEL: 'info' } })),
  'wharf with token auth': async () => (await startTokenWharf()).registry,
  'CNCF Distribution 2.8.2': startDistribution,
};

const work = once(async () => {
  await requireTools(TOOLS.docker, TOOLS.skopeo);
  dockerHost();
  const dir = await tempDir('wharf-e2e-client-');
  const config = join(dir, 'docker-config');
  const docker = dockerClient(config);
  const saved = join(dir, 'base.tar');
  await docker(['save', BASE_IMAGE, '-o', saved]);
  const layout = join(dir, 'base-layout');
  await run('skopeo', ['copy', `docker-archive:${saved}`, `oci:${layout}:v1`]);
  return { dir, config, docker, saved, layout };
});

afterAll(async () => {
  const w = await work().catch(() => undefined);
  if (w) await removeDir(w.dir);
});

describe.each(Object.keys(REGISTRIES))('wharf client against %s', (name) => {
  const registry = once(REGISTRIES[name]!);
  const id = randomBytes(3).toString('hex');
  afterAll(async () => (await registry().catch(() => undefined))?.stop());

  /** The registry, logged in with both docker and wharf when it needs credentials. */
  const ready = once(async () => {
    const w = await work();
    const reg = await registry();
    const env = { DOCKER_CONFIG: join(w.dir, `cfg-${id}`) };
    const docker = dockerClient(env.DOCKER_CONFIG);
    if (reg.login) {
      await wharf(['login', reg.host, '-u', reg.login.user, '--password-stdin'], env, { input: reg.login.password });
      await docker(['login', reg.host, '-u', reg.login.user, '--password-stdin'], { input: reg.login.password });
    }
    return { ...w, reg, env, docker, repo: `${reg.host}/alice/base-${id}` };
  });

  const runs = async (docker: (a: string[]) => Promise<{ stdout: string }>, image: string) => {
    await docker(['rmi', '-f', image]).catch(() => undefined);
    await docker(['pull', image]);
    expect((await docker(['run', '--rm', '--network', 'none', image, '/bin/busybox', 'echo', 'ran-ok'])).stdout.trim()).toBe('ran-ok');
  };

  it('pushes a docker save tarball and an OCI layout that docker pulls and runs', async () => {
    const { env, docker, repo, saved, layout } = await ready();
    const pushed = await wharf(['push', saved, `${repo}:saved`, '--json'], env);
    expect(JSON.parse(pushed.stdout)).toMatchObject({ reference: `${repo}:saved`, digest: expect.stringMatching(/^sha256:/) });
    await runs(docker, `${repo}:saved`);
    await wharf(['push', layout, `${repo}:layout`, '-q'], env);
    await runs(docker, `${repo}:layout`);
  });

  it('pulls to a docker load tarball and to an OCI layout that skopeo copies with identical digests', async () => {
    const { env, docker, repo, dir, saved, reg } = await ready();
    await wharf(['push', saved, `${repo}:pull`, '-q'], env);
    const tarball = join(dir, `pulled-${id}.tar`);
    await wharf(['pull', `${repo}:pull`, tarball], env);
    await docker(['rmi', '-f', `${repo}:pull`]).catch(() => undefined);
    expect((await docker(['load', '-i', tarball])).stdout).toContain(`${repo}:pull`);
    expect((await docker(['run', '--rm', '--network', 'none', `${repo}:pull`, '/bin/busybox', 'echo', 'loaded-ok'])).stdout.trim()).toBe('loaded-ok');

    // an OCI image (skopeo reads only OCI media types from a layout's index.json)
    await wharf(['push', (await work()).layout, `${repo}:pull-oci`, '-q'], env);
    const layout = join(dir, `pulled-layout-${id}`);
    await wharf(['pull', `${repo}:pull-oci`, layout, '--format', 'oci'], env);
    const creds = reg.login ? ['--dest-creds', `${reg.login.user}:${reg.login.password}`] : [];
    await run('skopeo', ['copy', '--dest-tls-verify=false', ...creds, `oci:${layout}:pull-oci`, `docker://${repo}:skopeo`]);
    const original = (await wharf(['digest', `${repo}:pull-oci`], env)).stdout.trim();
    expect(original).toMatch(/^sha256:/);
    expect((await wharf(['digest', `${repo}:skopeo`], env)).stdout.trim()).toBe(original);
  });

  it('tags on the registry without uploading a blob', async () => {
    const { env, repo, saved, reg } = await ready();
    await wharf(['push', saved, `${repo}:before-tag`, '-q'], env);
    const uploads = () => (reg.logs().match(/blobs\/uploads/g) ?? []).length;
    const before = uploads();
    expect(before).toBeGreaterThan(0);
    await wharf(['tag', `${repo}:before-tag`, 'after-tag'], env);
    expect(uploads()).toBe(before);
    expect((await wharf(['tags', repo], env)).stdout.split('\n')).toEqual(expect.arrayContaining(['before-tag', 'after-tag']));
    expect((await wharf(['digest', `${repo}:after-tag`], env)).stdout).toBe((await wharf(['digest', `${repo}:before-tag`], env)).stdout);
  });
});

describe('wharf copy between Wharf and CNCF Distribution', () => {
  const registries = once(async () => ({ wharf: wharfRegistry(await startWharf()), distribution: await startDistribution() }));
  afterAll(async () => {
    const r = await registries().catch(() => undefined);
    await r?.wharf.stop();
    await r?.distribution.stop();
  });

  it('copies a two-platform index with a referrer there and back keeping every digest, and one platform with --platform', async () => {
    const { dir } = await work();
    const { wharf: w, distribution: d } = await registries();
    const env = { DOCKER_CONFIG: join(dir, 'cfg-copy') };
    const layout = join(dir, 'index-layout');
    const { index, images, referrer } = await writeIndexLayout(layout, 'multi');
    await wharf(['push', `oci:${layout}:multi`, `${w.host}/team/multi:1`], env);
    await wharf(['push', `oci:${layout}:multi-sbom`, `${w.host}/team/multi@${referrer.digest}`], env);

    await wharf(['copy', '--referrers', `${w.host}/team/multi:1`, `${d.host}/team/multi:1`], env);
    await wharf(['copy', '--referrers', `${d.host}/team/multi:1`, `${w.host}/team/back:1`], env);
    const client = new RegistryClient({ credentials: new StaticCredentials({}) });
    try {
      for (const host of [d.host, w.host]) {
        const repo = host === d.host ? 'team/multi' : 'team/back';
        const ref = parseImageReference(`${host}/${repo}:1`);
        expect((await client.getManifest(ref)).digest).toBe(index.digest);
        for (const image of images) expect((await client.getManifest({ ...ref, tag: undefined, digest: image.digest as never })).digest).toBe(image.digest);
        expect((await listReferrers(client, ref, images[0]!.digest as never)).map((r) => r.digest)).toEqual([referrer.digest]);
      }
      // Distribution 2.8 has no referrers API: the copy kept the referrer in the tag schema
      expect(await listTags(client, parseImageReference(`${d.host}/team/multi`, { defaultTag: null }))).toContain(`sha256-${images[0]!.digest.slice(7)}`);
    } finally {
      await client.close();
    }

    await wharf(['copy', '--platform', 'linux/arm64', `${w.host}/team/multi:1`, `${d.host}/team/arm:1`], env);
    expect((await wharf(['digest', `${d.host}/team/arm:1`], env)).stdout.trim()).toBe(images[1]!.digest);
  });
});
