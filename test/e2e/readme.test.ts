/**
 * The README's first push and pull, run as a newcomer would run it: the command blocks marked
 * "tested by test/e2e/readme.test.ts" in README.md are read from the README itself and run line by line
 * with bash from the repository's root, against a real `wharf serve` (`localhost:5000` becomes its
 * address, `/tmp/` a temporary folder), so the README cannot drift from what works.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerEnv } from './docker-env.js';
import { REPO_ROOT, removeDir, requireTools, run, startWharf, tempDir, TOOLS, WHARF_MAIN, type WharfServer } from './helpers.js';

/** The lines of the command block after the README's marker `<!-- tested by test/e2e/readme.test.ts: <what> -->`. */
async function readmeBlock(what: string): Promise<string[]> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const marker = `<!-- tested by test/e2e/readme.test.ts: ${what} -->`;
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no block marked ${marker}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  if (!block) throw new Error(`no sh block after ${marker}`);
  return block.split('\n').filter((l) => l.trim() !== '');
}

describe('the README', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;

  afterAll(async () => {
    await wharf?.dispose();
    if (work) await removeDir(work);
  });

  /** The test's scratch folder (what the README calls `/tmp/`), removed after the tests. */
  async function scratch(): Promise<string> {
    return (work ??= await tempDir('wharf-e2e-readme-'));
  }

  /** Runs README lines with bash (`set -e -o pipefail`), the registry's address and the scratch folder substituted. */
  async function runLines(lines: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
    wharf ??= await startWharf();
    await scratch();
    const outputs: string[] = [];
    for (const line of lines) {
      const command = line.replaceAll('localhost:5000', wharf.host).replaceAll('/tmp/', `${work}/`);
      const result = await run('bash', ['-c', `set -e -o pipefail\n${command}`], { cwd: REPO_ROOT, env, timeoutMs: 180_000 });
      outputs.push(result.stdout);
    }
    return outputs;
  }

  it('first push and pull with skopeo: examples/hello goes in and comes back out with the same digest', async () => {
    await requireTools(TOOLS.skopeo, TOOLS.curl);
    const lines = await readmeBlock('the first push and pull with skopeo');
    expect(lines.some((l) => l.startsWith('skopeo copy'))).toBe(true);
    const env = { ...process.env, REGISTRY_AUTH_FILE: join(await scratch(), 'auth.json') };
    const outputs = await runLines(lines, env);
    const index = JSON.parse(await readFile(join(REPO_ROOT, 'examples/hello/index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const digest = index.manifests[0]!.digest;
    expect(JSON.parse(outputs[1]!).Digest).toBe(digest);
    const copied = JSON.parse(await readFile(join(work!, 'hello-copy', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(copied.manifests[0]!.digest).toBe(digest);
    expect(JSON.parse(outputs[3]!)).toEqual({ repositories: ['hello'] });
    expect(JSON.parse(outputs[4]!)).toEqual({ name: 'hello', tags: ['1.0'] });
  });

  it('first push and pull with docker: a busybox image imported, pushed, removed, pulled and run', async () => {
    await requireTools(TOOLS.busybox);
    const lines = await readmeBlock('the first push and pull with docker');
    expect(lines.some((l) => l.startsWith('docker push'))).toBe(true);
    const env = dockerEnv(join(await scratch(), 'docker-config'));
    try {
      const outputs = await runLines(lines, env);
      expect(outputs.at(-1)!.trim()).toBe('hello from Wharf');
    } finally {
      await run('docker', ['rmi', '--force', `${wharf!.host}/team/busybox:1.0`], { env, allowFailure: true });
    }
  });

  it('first push and pull with wharf: examples/hello pushed, tagged, pulled to a layout and inspected', async () => {
    const lines = await readmeBlock('the first push and pull with wharf');
    expect(lines.some((l) => l.startsWith('npx wharf push'))).toBe(true);
    // npx makes the bin executable only when it first links the checkout into its cache; a later
    // rebuild must keep it executable itself, or `npx wharf` fails with "Permission denied".
    expect((await stat(WHARF_MAIN)).mode & 0o111).toBe(0o111);
    const env = { ...process.env, DOCKER_CONFIG: join(await scratch(), 'wharf-docker-config') };
    const outputs = await runLines(lines, env);
    const index = JSON.parse(await readFile(join(REPO_ROOT, 'examples/hello/index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const digest = index.manifests[0]!.digest;
    const pulled = JSON.parse(await readFile(join(work!, 'hello-layout', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(pulled.manifests[0]!.digest).toBe(digest);
    expect(outputs.at(-1)).toContain(digest);
  });
});
