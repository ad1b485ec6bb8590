/**
 * Bad input to `wharf build`: each stops the build with one message naming the Dockerfile and the
 * line (where there is one) and what to do, and leaves nothing behind in the cache's scratch space.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { build, type BuildOptions } from '../../src/build/build.js';
import { BuildError } from '../../src/build/errors.js';
import { parseImageReference, RegistryClient } from '../../src/client/index.js';
import { pushBase, writeFiles, type FileSpec } from '../support/build-fixtures.js';
import { startAuthRegistry } from './auth-harness.js';
import { forEachDriver } from './harness.js';

const dirs: string[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Builds `files` and returns the error's message (failing when the build succeeds). */
async function failure(files: Record<string, FileSpec>, options: Partial<BuildOptions> = {}): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'wharf-build-err-'));
  dirs.push(work);
  await writeFiles(join(work, 'ctx'), files);
  const client = new RegistryClient({ retry: { retries: 0 } });
  clients.push(client);
  const cacheDir = join(work, 'cache');
  const err = await build({ context: join(work, 'ctx'), cacheDir, client, ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BuildError);
  expect((await readdir(cacheDir).catch(() => [])).filter((n) => n.startsWith('tmp-'))).toEqual([]);
  return (err as Error).message;
}

it('RUN stops the build naming the file, the line and the instruction, and what to do', async () => {
  const message = await failure({ Dockerfile: 'FROM scratch\n\nRUN apt-get install -y curl\n' });
  expect(message).toBe(
    'Dockerfile:3: RUN apt-get install -y curl: wharf build runs no commands (it has no container runtime): ' +
      'move this step into the base image (build that with docker build), or build this Dockerfile with docker build',
  );
});

it('an unknown instruction names its line', async () => {
  expect(await failure({ Dockerfile: 'FROM scratch\nCOPPY a /b\n' })).toMatch(/^Dockerfile:2: COPPY a \/b: unknown instruction COPPY: use one of ADD, ARG/);
});

it('a COPY source that does not exist, or is .dockerignored, names the line', async () => {
  expect(await failure({ Dockerfile: 'FROM scratch\nCOPY missing.txt /app/\n' })).toBe(
    'Dockerfile:2: COPY missing.txt /app/: source "missing.txt" not found in the build context: check the path, which is relative to the root of the context',
  );
  expect(await failure({ 'secret.txt': 's', '.dockerignore': 'secret.txt', Dockerfile: 'FROM scratch\nCOPY secret.txt /\n' })).toContain('(it is excluded by .dockerignore)');
  expect(await failure({ Dockerfile: 'FROM scratch\nCOPY *.none /app/\n' })).toContain('Dockerfile:2: COPY *.none /app/: no file in the build context matches "*.none"');
});

it('a COPY source outside the context (../, or a symlink leading out) is refused', async () => {
  expect(await failure({ 'a.txt': 'a', Dockerfile: 'FROM scratch\nCOPY ../a.txt /\n' })).toContain('Dockerfile:2: COPY ../a.txt /: source "../a.txt" is outside the build context');
  expect(await failure({ 'passwd': { symlink: '/etc/passwd' }, Dockerfile: 'FROM scratch\nCOPY passwd /\n' })).toContain('Dockerfile:2: COPY passwd /: source "passwd" leads out of the build context');
  expect(await failure({ 'up': { symlink: '..' }, Dockerfile: 'FROM scratch\nCOPY up/x /\n' })).toContain('source "up/x" leads out of the build context');
});

it('a bad --build-arg is refused; a value that makes FROM invalid names the FROM line', async () => {
  expect(await failure({ Dockerfile: 'FROM scratch\n' }, { buildArgs: ['1X=2'] })).toBe('invalid --build-arg "1X=2": write --build-arg NAME=value (NAME: letters, digits and _, not starting with a digit)');
  expect(await failure({ Dockerfile: 'ARG BASE=scratch\nFROM ${BASE}\n' }, { buildArgs: ['BASE=Not A Reference!'] })).toMatch(/^Dockerfile:2: FROM \$\{BASE\}: invalid image reference "Not A Reference!"/);
});

it('several sources need a folder destination; RUN-free Dockerfiles without FROM are refused', async () => {
  expect(await failure({ a: 'a', b: 'b', Dockerfile: 'FROM scratch\nCOPY a b /dest\n' })).toContain('Dockerfile:2: COPY a b /dest: with more than one source (2 here) the destination must be a folder ending with /');
  expect(await failure({ Dockerfile: 'ENV A=1\n' })).toContain('Dockerfile:1: ENV A=1: ENV before the first FROM');
});

forEachDriver((make) => {
  it('a base image that does not exist, or has no image for the platform, names the FROM line', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    expect(await failure({ Dockerfile: `FROM ${host}/nobody/nothing:1\n` })).toMatch(new RegExp(`^Dockerfile:1: FROM ${host}/nobody/nothing:1: the image ${host}/nobody/nothing:1 does not exist`));
    const client = new RegistryClient();
    clients.push(client);
    await pushBase(client, parseImageReference(`${host}/base/os:1`), [
      { platform: { os: 'linux', architecture: 'amd64' }, layers: [[{ path: 'a', content: 'a' }]] },
      { platform: { os: 'linux', architecture: 'arm64' }, layers: [[{ path: 'a', content: 'a' }]] },
    ]);
    const noPlatform = await failure({ Dockerfile: `FROM ${host}/base/os:1\n` }, { platforms: [{ os: 'linux', architecture: 's390x' }] });
    expect(noPlatform).toContain(`Dockerfile:1: FROM ${host}/base/os:1: `);
    expect(noPlatform).toContain('has no image for platform linux/s390x (it has: linux/amd64, linux/arm64): pick a platform it has with --platform');
    await pushBase(client, parseImageReference(`${host}/base/triggers:1`), [{ platform: { os: 'linux', architecture: 'amd64' }, layers: [[{ path: 'a', content: 'a' }]], config: { OnBuild: ['RUN make'] } }]);
    expect(await failure({ Dockerfile: `FROM ${host}/base/triggers:1\n` }, { platforms: [{ os: 'linux', architecture: 'amd64' }] })).toContain(
      `Dockerfile:1: FROM ${host}/base/triggers:1: ${host}/base/triggers:1 has ONBUILD triggers (RUN make), which wharf build does not run`,
    );
    expect(await failure({ Dockerfile: 'FROM scratch AS a\n' }, { target: 'nope' })).toBe('no stage named "nope" for --target: the stages are: a');
  });
});

it('a base image the registry refuses names the FROM line and tells to log in', async () => {
  const reg = await startAuthRegistry();
  const host = new URL(reg.url).host;
  expect(await failure({ Dockerfile: `FROM ${host}/alice/base:1\n` })).toMatch(
    new RegExp(`^Dockerfile:1: FROM ${host}/alice/base:1: cannot read the image ${host}/alice/base:1: ${host} refused access \\(DENIED\\): run wharf login ${host} with an account that may pull it$`),
  );
});
