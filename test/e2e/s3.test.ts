/**
 * The real docker client and skopeo against `wharf serve` on S3 (s3rver in its own process): the
 * same push, pull, run and multi-platform copy as on disk, through two replicas on one bucket, one of
 * them with `storage.s3.redirect: true`, whose blob GETs answer 307 to presigned URLs that docker and
 * skopeo follow.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startS3, wharfS3Env, type RunningS3 } from '../support/s3.js';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type RunOptions, type RunResult, type WharfServer } from './helpers.js';
import { layoutRef, OCI_MANIFEST, readBlob, sha256, writeMultiPlatformLayout } from './oci-layout.js';

describe('docker and skopeo against Wharf on S3', () => {
  const tag = `s3${randomBytes(4).toString('hex')}`;
  const localImage = `wharf-e2e-s3:${tag}`;
  let s3: RunningS3 | undefined;
  let work: string | undefined;
  const servers: WharfServer[] = [];

  const fixture = once(async () => {
    await requireTools(TOOLS.docker, TOOLS.skopeo, TOOLS.tar);
    dockerHost();
    work = await tempDir('wharf-e2e-s3-');
    s3 = await startS3();
    const plain = await startWharf({ storageEnv: wharfS3Env(s3, 'images') });
    servers.push(plain);
    const redirecting = await startWharf({ storageEnv: wharfS3Env(s3, 'images', { WHARF_STORAGE_S3_REDIRECT: 'true', WHARF_STORAGE_S3_REDIRECTEXPIRY: '10m' }) });
    servers.push(redirecting);
    const docker = dockerClient(join(work, 'docker-config'));
    const context = join(work, 'context');
    await run('mkdir', ['-p', context]);
    await writeFile(join(context, 'payload.bin'), randomBytes(6 * 1024 * 1024)); // over one 5 MiB part
    await writeFile(
      join(context, 'Dockerfile'),
      [`FROM ${BASE_IMAGE}`, 'COPY payload.bin /app/payload.bin', 'RUN echo "on s3" > /app/where.txt', 'CMD ["/bin/sh", "-c", "cat /app/where.txt; wc -c < /app/payload.bin"]', ''].join('\n'),
    );
    await docker(['build', '--network', 'none', '-t', localImage, context]);
    const env: NodeJS.ProcessEnv = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json'), DOCKER_CONFIG: join(work, 'docker-config') };
    const skopeo = (args: string[], opts: RunOptions = {}): Promise<RunResult> =>
      run('skopeo', ['--insecure-policy', ...args], { timeoutMs: 120_000, ...opts, env });
    return { plain, redirecting, docker, skopeo, work };
  });

  /** team/s3app:1 pushed through the plain replica. */
  const pushed = once(async () => {
    const { plain, docker } = await fixture();
    await docker(['tag', localImage, `${plain.host}/team/s3app:1`]);
    const push = await docker(['push', `${plain.host}/team/s3app:1`]);
    const digest = /: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.output)?.[1];
    if (!digest) throw new Error(`no digest in docker push output:\n${push.output}`);
    return digest;
  });

  afterAll(async () => {
    try {
      if (work) {
        const docker = dockerClient(join(work, 'docker-config'));
        const images = [localImage, ...servers.map((s) => `${s.host}/team/s3app:1`)];
        await docker(['rmi', '--force', ...images], { allowFailure: true }).catch(() => undefined);
      }
      for (const s of servers) await s.dispose();
    } finally {
      await s3?.stop();
      if (work) await removeDir(work);
    }
  });

  it('docker pushes an image, then pulls it by tag and runs it', async () => {
    const { plain, docker } = await fixture();
    const digest = await pushed();
    const ref = `${plain.host}/team/s3app:1`;
    await docker(['rmi', localImage, ref]);
    const pull = await docker(['pull', ref]);
    expect(pull.output).toContain(`Digest: ${digest}`);
    expect(pull.output.match(/: Pull complete/g)?.length ?? 0, pull.output).toBeGreaterThanOrEqual(2);
    const out = await docker(['run', '--rm', '--network', 'none', ref]);
    expect(out.stdout.trim().split('\n')).toEqual(['on s3', String(6 * 1024 * 1024)]);
    await docker(['tag', ref, localImage]);
  });

  it('docker pulls through the redirecting replica, following its 307 to the presigned URL', async () => {
    const { redirecting, docker } = await fixture();
    const digest = await pushed();
    const manifest = (await (await fetch(`${redirecting.url}/v2/team/s3app/manifests/${digest}`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } })).json()) as {
      layers: { digest: string }[];
    };
    const layer = manifest.layers.at(-1)!.digest;
    const blob = await fetch(`${redirecting.url}/v2/team/s3app/blobs/${layer}`, { redirect: 'manual' });
    expect(blob.status, redirecting.logs()).toBe(307);
    expect(blob.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/wharf-test\/images\/blobs\/sha256\/.*X-Amz-Signature=/);

    const ref = `${redirecting.host}/team/s3app:1`;
    await docker(['rmi', '--force', localImage, `${(await fixture()).plain.host}/team/s3app:1`], { allowFailure: true });
    const pull = await docker(['pull', ref]);
    expect(pull.output).toContain(`Digest: ${digest}`);
    expect(pull.output.match(/: Pull complete/g)?.length ?? 0, pull.output).toBeGreaterThanOrEqual(2);
    const out = await docker(['run', '--rm', '--network', 'none', ref]);
    expect(out.stdout.trim().split('\n')).toEqual(['on s3', String(6 * 1024 * 1024)]);
  });

  it('skopeo copies a two-platform image index in with --all, and out again through the redirecting replica', async () => {
    const { plain, redirecting, skopeo, work: dir } = await fixture();
    const layout = join(dir, 'multi-layout');
    const { index, images } = await writeMultiPlatformLayout(dir, layout, 'multi');
    await skopeo(['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:multi`, `docker://${plain.host}/sk/multi:1`]);

    const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${redirecting.host}/sk/multi:1`])).stdout;
    expect(sha256(raw)).toBe(index.digest);
    const child = await fetch(`${redirecting.url}/v2/sk/multi/manifests/${images[0]!.manifest.digest}`, { headers: { Accept: OCI_MANIFEST } });
    expect(child.status).toBe(200);

    const back = join(dir, 'multi-back');
    await skopeo(['copy', '--all', '--preserve-digests', '--src-tls-verify=false', `docker://${redirecting.host}/sk/multi:1`, `oci:${back}:multi`]);
    expect((await layoutRef(back, 'multi')).digest).toBe(index.digest);
    for (const digest of [index.digest, ...images.flatMap((i) => [i.manifest.digest, i.config.digest, i.layer.digest])]) {
      expect(await readBlob(back, digest), digest).toEqual(await readBlob(layout, digest));
    }
    const layerGet = await fetch(`${redirecting.url}/v2/sk/multi/blobs/${images[1]!.layer.digest}`, { redirect: 'manual' });
    expect(layerGet.status).toBe(307);
  });
});
