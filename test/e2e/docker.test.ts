/**
 * The real docker client against a real `wharf serve`: build a multi-layer image FROM the busybox
 * base, push it, push it to a second repository (layers mounted, not uploaded), push it again
 * (nothing uploaded), remove it locally, pull it by tag and by digest, and run it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, startWharf, tempDir, TOOLS, type WharfServer } from './helpers.js';

/** What the image's CMD prints. */
const EXPECTED_OUTPUT = ['hello from a COPY step', 'written by a RUN step', 'random.bin 262144', 'wharf-e2e-ok'];

/** Lines of `docker push` output about layers: `<short id>: <status>`. */
function layerLines(output: string): { id: string; status: string }[] {
  return output
    .split('\n')
    .map((l) => /^([0-9a-f]{12}): (.+)$/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1] ?? '', status: (m[2] ?? '').trim() }))
    .filter((l) => l.status !== 'Preparing' && l.status !== 'Waiting' && !l.status.startsWith('Pushing'));
}

/** The final status of every layer in `docker push` output, by layer id. */
function finalLayerStatus(output: string): Map<string, string> {
  const status = new Map<string, string>();
  for (const line of layerLines(output)) status.set(line.id, line.status);
  return status;
}

/** The `<tag>: digest: sha256:... size: N` line of `docker push`. */
function pushedDigest(output: string): string {
  const m = /: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(output);
  if (!m?.[1]) throw new Error(`no digest line in docker push output:\n${output}`);
  return m[1];
}

describe('docker client', () => {
  const tag = `t${randomBytes(4).toString('hex')}`;
  const localImage = `wharf-e2e-app:${tag}`;
  let wharf: WharfServer | undefined;
  let work: string | undefined;

  /** Wharf, a private docker config, and the image built from the base with several layers. */
  const fixture = once(async () => {
    await requireTools(TOOLS.docker);
    dockerHost(); // fails here, naming the missing package, when the global setup found no daemon
    work = await tempDir('wharf-e2e-docker-');
    const docker = dockerClient(join(work, 'docker-config'));
    wharf = await startWharf();
    const context = join(work, 'context');
    await mkdir(join(context, 'etc'), { recursive: true });
    await writeFile(join(context, 'greeting.txt'), 'hello from a COPY step\n');
    await writeFile(join(context, 'etc', 'app.conf'), 'mode=e2e\n');
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${BASE_IMAGE}`,
        'COPY greeting.txt /app/greeting.txt',
        'COPY etc/ /app/etc/',
        'RUN echo "written by a RUN step" > /app/run.txt',
        'RUN mkdir -p /app/data && head -c 262144 /dev/urandom > /app/data/random.bin',
        'CMD ["/bin/sh", "-c", "cat /app/greeting.txt /app/run.txt; echo random.bin $(wc -c < /app/data/random.bin); echo wharf-e2e-ok"]',
        '',
      ].join('\n'),
    );
    await docker(['build', '--network', 'none', '-t', localImage, context]);
    return { docker, wharf, repo: `${wharf.host}/team/app`, other: `${wharf.host}/other/app` };
  });

  /** The first push of team/app:1.0, done once; its output and the manifest digest. */
  const firstPush = once(async () => {
    const { docker, repo } = await fixture();
    await docker(['tag', localImage, `${repo}:1.0`]);
    const push = await docker(['push', `${repo}:1.0`]);
    return { output: push.output, digest: pushedDigest(push.output) };
  });

  afterAll(async () => {
    if (work) {
      const docker = dockerClient(join(work, 'docker-config'));
      const images = [localImage];
      if (wharf) images.push(`${wharf.host}/team/app:1.0`, `${wharf.host}/other/app:1.0`);
      await docker(['rmi', '--force', ...images], { allowFailure: true }).catch(() => undefined);
    }
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('pushes an image built with docker build (several layers) to team/app:1.0', async () => {
    const { wharf: server } = await fixture();
    const { output, digest } = await firstPush();
    const status = finalLayerStatus(output);
    expect(status.size, output).toBeGreaterThanOrEqual(5);
    for (const [id, s] of status) expect(s, `layer ${id} in:\n${output}`).toBe('Pushed');

    const res = await fetch(`${server.url}/v2/team/app/manifests/1.0`, {
      headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status, server.logs()).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    const manifest = (await res.json()) as { layers: unknown[] };
    expect(manifest.layers).toHaveLength(5);

    const tags = await fetch(`${server.url}/v2/team/app/tags/list`);
    expect(await tags.json()).toEqual({ name: 'team/app', tags: ['1.0'] });
  });

  it('pushes the same image to other/app:1.0 by mounting the layers, uploading none', async () => {
    const { docker, other } = await fixture();
    const first = await firstPush();
    await docker(['tag', localImage, `${other}:1.0`]);
    const push = await docker(['push', `${other}:1.0`]);
    const status = finalLayerStatus(push.output);
    expect(status.size, push.output).toBeGreaterThanOrEqual(5);
    for (const [id, s] of status) {
      expect(s, `layer ${id} in:\n${push.output}`).toMatch(/^(Mounted from team\/app|Layer already exists)$/);
    }
    expect(push.output).toContain('Mounted from team/app');
    expect(pushedDigest(push.output)).toBe(first.digest);
  });

  it('pushes team/app:1.0 again without uploading anything', async () => {
    const { docker, repo } = await fixture();
    const first = await firstPush();
    const push = await docker(['push', `${repo}:1.0`]);
    const status = finalLayerStatus(push.output);
    expect(status.size, push.output).toBeGreaterThanOrEqual(5);
    for (const [id, s] of status) expect(s, `layer ${id} in:\n${push.output}`).toBe('Layer already exists');
    expect(pushedDigest(push.output)).toBe(first.digest);
  });

  it('pulls by tag and by digest after removing the image locally, and runs it', async () => {
    const { docker, repo, other } = await fixture();
    const { digest } = await firstPush();
    const gone = async () => {
      const inspect = await docker(['image', 'inspect', `${repo}:1.0`], { allowFailure: true });
      expect(inspect.code, inspect.output).not.toBe(0);
    };
    const runIt = async (ref: string) => {
      const out = await docker(['run', '--rm', '--network', 'none', ref]);
      expect(out.stdout.trim().split('\n')).toEqual(EXPECTED_OUTPUT);
    };

    await docker(['rmi', localImage, `${repo}:1.0`, `${other}:1.0`], { allowFailure: true });
    await gone();

    const byTag = await docker(['pull', `${repo}:1.0`]);
    expect(byTag.output).toContain(`Digest: ${digest}`);
    // Every layer but the base's (still present locally as wharf-e2e-base) is downloaded from Wharf.
    expect(byTag.output.match(/: Pull complete/g)?.length ?? 0, byTag.output).toBeGreaterThanOrEqual(4);
    const repoDigest = (await docker(['inspect', '--format', '{{index .RepoDigests 0}}', `${repo}:1.0`])).stdout.trim();
    expect(repoDigest).toBe(`${repo}@${digest}`);
    await runIt(`${repo}:1.0`);

    await docker(['rmi', `${repo}:1.0`]);
    await gone();
    const byDigest = await docker(['pull', `${repo}@${digest}`]);
    expect(byDigest.output).toContain(`Digest: ${digest}`);
    expect(byDigest.output.match(/: Pull complete/g)?.length ?? 0, byDigest.output).toBeGreaterThanOrEqual(4);
    await runIt(`${repo}@${digest}`);
    await docker(['rmi', `${repo}@${digest}`]);
  });
});
