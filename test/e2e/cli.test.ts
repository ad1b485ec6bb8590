/**
 * The `wharf` command itself: a bad configuration stops `wharf serve` with exit status 1 and a
 * message naming the key, the value and what is allowed; `--config FILE` is honoured; a client
 * command that exits at once when done (main.ts's `beforeExit`) still writes all of its output and
 * keeps its exit status.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';
import { REPO_ROOT, removeDir, run, tempDir, WHARF_MAIN } from './helpers.js';

function wharf(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_')));
  return run(process.execPath, [WHARF_MAIN, ...args], { env: { ...clean, ...env }, allowFailure: true, timeoutMs: 30_000 });
}

describe('wharf serve with a bad configuration', () => {
  it('exits 1 naming the environment override, its value and the allowed form', async () => {
    const r = await wharf(['serve'], { WHARF_HTTP_ADDR: 'nonsense' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('config key "http.addr" = "nonsense" (from environment variable WHARF_HTTP_ADDR): expected "host:port"');
  });

  it('exits 1 naming an unknown key in the --config file', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir, 'config.yml');
      await writeFile(file, 'http:\n  addr: 127.0.0.1:0\nstorage:\n  filesystem:\n    rootdir: /tmp/x\n');
      const r = await wharf(['serve', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`config key "storage.filesystem.rootdir" (in ${file}) is not a known key`);
    } finally {
      await removeDir(dir);
    }
  });

  it('exits 1 when the --config file does not exist', async () => {
    const r = await wharf(['serve', '--config', '/nonexistent/wharf.yml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read config file /nonexistent/wharf.yml');
  });

  it('exits 1 when the storage root cannot be written, naming the key', async () => {
    const r = await wharf(['serve'], { WHARF_HTTP_ADDR: '127.0.0.1:0', WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/etc/passwd' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('storage.filesystem.rootdirectory = "/etc/passwd": the storage cannot be written');
  });

  it('exits 1 when the address is taken, saying so', async () => {
    const dir = await tempDir();
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await wharf(['serve'], { WHARF_HTTP_ADDR: `127.0.0.1:${port}`, WHARF_STORAGE_FILESYSTEM_ROOTDIRECTORY: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n').at(-1)).toBe(
        `wharf: cannot listen on 127.0.0.1:${port}: the port is in use (another wharf serve?); stop it, or set http.addr or WHARF_HTTP_ADDR to a free host:port`,
      );
    } finally {
      blocker.close();
      await removeDir(dir);
    }
  });
});

describe('wharf --version and wharf gc --help', () => {
  it('--version prints the version of the package', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await wharf(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('gc --help says what a run deletes by default, what it keeps, and offers --grace', async () => {
    const r = await wharf(['gc', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--grace <duration>');
    expect(r.stdout).toContain('blobs no remaining manifest uses');
    expect(r.stdout).toContain('manifests no tag reaches');
    expect(r.stdout).toContain('--delete-untagged (gc.deleteuntagged: true) deletes those too');
    expect(r.stdout).toContain('within the grace period (gc.grace, 1h) is deleted');
    expect(r.stdout).not.toContain('delete what no tag reaches');
  });
});

describe('a client command that exits as soon as it is done', () => {
  it('writes its whole --json result to a pipe and exits 0, and exits 1 with one line when it fails', async () => {
    const dir = await tempDir();
    try {
      const { manifest } = await writeImage(join(dir, 'src'), { layers: [12 * 1024 * 1024, 3 * 1024 * 1024] });
      await writeLayoutIndex(join(dir, 'src'), [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': '1' } }]);
      const ok = await wharf(['copy', '--json', `oci:${join(dir, 'src')}:1`, `oci:${join(dir, 'dst')}:1`]);
      expect(ok.code).toBe(0);
      const result = JSON.parse(ok.stdout) as { images: { digest: string; blobs: { uploaded: number } }[] };
      expect(result.images[0]).toMatchObject({ digest: manifest.digest, blobs: { uploaded: 3 } });
      const index = JSON.parse(await readFile(join(dir, 'dst', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
      expect(index.manifests.map((m) => m.digest)).toEqual([manifest.digest]);

      const missing = await wharf(['copy', `oci:${join(dir, 'nothing')}:1`, `oci:${join(dir, 'dst2')}:1`]);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await removeDir(dir);
    }
  });
});
