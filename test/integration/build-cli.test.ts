/**
 * The `wharf build` command's shell (src/cli/build.ts): --verify, --json, --push=false with file
 * outputs, sizes, and the one-line errors of bad options.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { buildCommand, describeBuildError, parseSize } from '../../src/cli/build.js';
import { writeFiles } from '../support/build-fixtures.js';
import { startAuthRegistry } from './auth-harness.js';

const dirs: string[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function context(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'wharf-build-cli-'));
  dirs.push(work);
  await writeFiles(join(work, 'ctx'), { 'a.txt': 'a', Dockerfile: 'FROM scratch\nCOPY a.txt /\nCMD ["/a.txt"]\n' });
  return work;
}

it('--verify builds twice and passes when the digests agree; --json prints the digests', async () => {
  const work = await context();
  const out: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
  await buildCommand(join(work, 'ctx'), { verify: true, json: true, push: false, output: [`oci:${join(work, 'out')}:v1`], cacheDir: join(work, 'cache') });
  const result = JSON.parse(out.join('')) as { digest: string; images: { platform: string; layers: unknown[] }[]; outputs: { target: string }[] };
  expect(result.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
  expect(result.images[0]!.layers).toHaveLength(1);
  expect(result.outputs.map((o) => o.target)).toEqual([`oci:${join(work, 'out')}:v1`]);
  const index = JSON.parse(await readFile(join(work, 'out', 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
  expect(index.manifests.map((m) => [m.digest, m.annotations['org.opencontainers.image.ref.name']])).toEqual([[result.digest, 'v1']]);
});

it('refuses to push without -t, and bad --output and --split-threshold values, in one line', async () => {
  const work = await context();
  const fails = (o: Parameters<typeof buildCommand>[1]) => buildCommand(join(work, 'ctx'), { cacheDir: join(work, 'cache'), quiet: true, ...o }).then(() => 'passed', describeBuildError);
  expect(await fails({})).toBe('nothing to push to: give -t REGISTRY/REPOSITORY:TAG, or --push=false, or --output oci:DIR');
  expect(await fails({ output: ['tarball:x'] })).toBe('invalid --output "tarball:x": use registry, oci:DIR, oci-archive:FILE or docker-archive:FILE');
  expect(await fails({ push: false, splitThreshold: 'big' })).toBe('--split-threshold big is not a size: write e.g. 64MiB, 1GiB or a number of bytes');
  expect(await fails({ tag: ['Bad Ref'] })).toMatch(/^-t Bad Ref: invalid image reference "Bad Ref"/);
});

it('says what a failed push needs, as the client commands do: a login, a registry that answers', async () => {
  const work = await context();
  const saved = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE };
  Object.assign(process.env, { DOCKER_CONFIG: join(work, 'docker'), REGISTRY_AUTH_FILE: join(work, 'auth.json') });
  try {
    const fails = (tag: string) => buildCommand(join(work, 'ctx'), { cacheDir: join(work, 'cache'), quiet: true, tag: [tag] }).then(() => 'passed', describeBuildError);
    expect(await fails('127.0.0.1:1/team/app:1')).toBe('cannot connect to 127.0.0.1:1: connection refused (is the registry running, and is the address right?)');
    const reg = await startAuthRegistry();
    const host = new URL(reg.url).host;
    expect(await fails(`${host}/alice/app:1`)).toBe(`unauthorized: ${host} needs a login for alice/app: run wharf login ${host}`);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

it('reads sizes with units', () => {
  expect(parseSize('64MiB', 'x')).toBe(64 * 1024 * 1024);
  expect(parseSize('1GiB', 'x')).toBe(1024 ** 3);
  expect(parseSize('500M', 'x')).toBe(500 * 1024 * 1024);
  expect(parseSize('1234', 'x')).toBe(1234);
});
