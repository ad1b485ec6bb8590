/**
 * The built `wharf` bin in a container whose only shell and `env` are BusyBox's (no `env -S`), as on
 * node:20-alpine: `wharf --version` prints the version, and `wharf serve` answers `GET /v2/`, runs
 * as the container's PID 1 with the node flags and MALLOC_MMAP_THRESHOLD_ of its first lines (the
 * shell `exec`s node), and exits 0 on `docker stop`'s SIGTERM.
 *
 * The image is the suite's BusyBox base with this machine's node (and the C libraries it links,
 * copied from `ldd`) at /usr/local/bin/node, /usr/bin/env a BusyBox link as on Alpine, and
 * /usr/local/bin/wharf a link to the mounted repository's dist/src/main.js (what `npm install -g`
 * makes). node:20-alpine itself is not used: the suite runs offline and its daemon starts empty.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { shebangEnv, shebangNodeFlags } from '../../bench/servers.js';
import { dockerClient } from './docker-env.js';
import { BASE_IMAGE, freePort, REPO_ROOT, removeDir, requireTools, run, tempDir, TOOLS, waitFor, WHARF_MAIN } from './helpers.js';

const IMAGE = 'wharf-e2e-busybox-node:1';
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** The absolute paths of the shared libraries `ldd` lists for `binary` (the loader included). */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

/** Builds {@link IMAGE} in `work` with `docker`. */
async function buildImage(docker: ReturnType<typeof dockerClient>, work: string): Promise<void> {
  const context = join(work, 'context');
  const files = [process.execPath, ...(await sharedLibraries(process.execPath))];
  for (const file of files) {
    const target = join(context, 'root', file === process.execPath ? '/usr/local/bin/node' : file);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(file, target);
  }
  await writeFile(
    join(context, 'Dockerfile'),
    [
      `FROM ${BASE_IMAGE}`,
      'COPY root/ /',
      'RUN mkdir -p /usr/bin && ln -s /bin/busybox /usr/bin/env && ln -s /repo/dist/src/main.js /usr/local/bin/wharf',
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      '',
    ].join('\n'),
  );
  await docker(['build', '--network', 'none', '-q', '-t', IMAGE, context], { timeoutMs: 300_000 });
}

describe('the wharf bin where env has no -S (BusyBox)', () => {
  it('runs `wharf --version` and `wharf serve` (GET /v2/, PID 1 with its flags, exit 0 on SIGTERM)', async () => {
    await requireTools(TOOLS.docker, TOOLS.busybox);
    const work = await tempDir('wharf-e2e-bbnode-');
    cleanups.push(() => removeDir(work));
    const docker = dockerClient(join(work, 'docker-config'));
    const header = readFileSync(WHARF_MAIN, 'utf8').split('\n', 2).join('\n');
    expect(header).toBe(readFileSync(join(REPO_ROOT, 'src/main.ts'), 'utf8').split('\n', 2).join('\n'));
    await buildImage(docker, work);

    const envS = await docker(['run', '--rm', '--network', 'none', IMAGE, '/usr/bin/env', '-S', 'true'], { allowFailure: true });
    expect(envS.code).not.toBe(0);
    const mount = ['-v', `${REPO_ROOT}:/repo:ro`];
    const version = await docker(['run', '--rm', '--network', 'none', ...mount, IMAGE, 'wharf', '--version']);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
    expect(version.stderr).toBe('');

    const port = await freePort();
    const name = `wharf-e2e-bbnode-${port}`;
    cleanups.push(() => docker(['rm', '-f', name], { allowFailure: true }));
    await docker(['run', '-d', '--name', name, '--network', 'none', ...mount, '-e', `WHARF_HTTP_ADDR=127.0.0.1:${port}`, '-e', 'WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY=/tmp/data', IMAGE, 'wharf', 'serve']);
    // BusyBox's wget inside the container (--network host would leave dockerd's netns mount behind)
    const v2 = ['exec', name, 'wget', '-S', '-O', '-', `http://127.0.0.1:${port}/v2/`];
    await waitFor('wharf serve in the container to answer GET /v2/', async () => (await docker(v2, { allowFailure: true })).code === 0, { timeoutMs: 60_000 });
    expect((await docker(v2)).stderr).toMatch(/HTTP\/1\.1 200 OK/);

    const cmdline = (await docker(['exec', name, 'cat', '/proc/1/cmdline'])).stdout.split('\0').filter(Boolean);
    expect(cmdline).toEqual(['node', ...shebangNodeFlags(header), '/usr/local/bin/wharf', 'serve']);
    const environ = (await docker(['exec', name, 'cat', '/proc/1/environ'])).stdout.split('\0');
    expect(environ).toContain(`MALLOC_MMAP_THRESHOLD_=${shebangEnv(header).MALLOC_MMAP_THRESHOLD_}`);

    await docker(['stop', '-t', '30', name]);
    const exit = await docker(['inspect', '-f', '{{.State.ExitCode}}', name]);
    expect(exit.stdout.trim()).toBe('0');
  });
});
