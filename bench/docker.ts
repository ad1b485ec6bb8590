/**
 * `docker push` and `docker pull` through the Docker daemon at `DOCKER_HOST`: an image of N layers of
 * random (incompressible) data built once with `DOCKER_BUILDKIT=0 docker build` from scratch, pushed
 * to and pulled from each server under a new repository per round.
 */
import { execFile } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { open, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from './http.js';
import type { ServerUnderTest } from './servers.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

/** The local tag of the bench's source image. */
export const SOURCE_IMAGE = 'wharf-bench/layers:latest';

/** Runs `docker args...`. @throws Error with docker's stderr */
async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 16 * MiB });
  return stdout;
}

/** True when the Docker daemon answers. */
export async function dockerAnswers(): Promise<boolean> {
  return docker('version', '--format', '{{.Server.Version}}').then(
    () => true,
    () => false,
  );
}

/** Builds {@link SOURCE_IMAGE}: `layers` layers of `layerMiB` MiB of random bytes each, from scratch. */
export async function buildImage(dir: string, layers: number, layerMiB: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const chunk = Buffer.alloc(MiB);
  const lines = ['FROM scratch'];
  for (let i = 0; i < layers; i++) {
    const handle = await open(join(dir, `layer${i}.bin`), 'w');
    for (let m = 0; m < layerMiB; m++) await handle.write(randomFillSync(chunk));
    await handle.close();
    lines.push(`COPY layer${i}.bin /layer${i}.bin`);
  }
  await writeFile(join(dir, 'Dockerfile'), lines.join('\n') + '\n');
  await docker('build', '--network', 'none', '-q', '-t', SOURCE_IMAGE, dir);
  await rm(dir, { recursive: true, force: true });
}

/** What one push and pull took, in seconds. */
export interface DockerTimes {
  push: number;
  pull: number;
}

/**
 * Pushes {@link SOURCE_IMAGE} to `server` as `bench/docker-<round>:latest`, removes it locally, pulls it
 * back (the pulled image becomes the source again), then removes the repository and its blobs from the
 * server's storage, so the next round's push cannot mount or skip them.
 */
export async function pushPull(server: ServerUnderTest, round: number): Promise<DockerTimes> {
  const repository = `bench/docker-${round}`;
  const target = `${server.host}/${repository}:latest`;
  await docker('tag', SOURCE_IMAGE, target);
  let start = process.hrtime.bigint();
  await docker('push', '-q', target);
  const push = Number(process.hrtime.bigint() - start) / 1e9;
  await docker('rmi', target, SOURCE_IMAGE);
  start = process.hrtime.bigint();
  await docker('pull', '-q', target);
  const pull = Number(process.hrtime.bigint() - start) / 1e9;
  await docker('tag', target, SOURCE_IMAGE);
  await docker('rmi', target);
  const manifest = await expect(200, `${server.url}/v2/${repository}/manifests/latest`, {
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  const parsed = JSON.parse(manifest.body.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  for (const digest of [parsed.config.digest, ...parsed.layers.map((l) => l.digest)]) await server.removeBlob(digest);
  await server.removeRepository(repository);
  return { push, pull };
}

/** Removes {@link SOURCE_IMAGE} from the daemon (ignores its absence). */
export async function removeImage(): Promise<void> {
  await docker('rmi', SOURCE_IMAGE).catch(() => undefined);
}
