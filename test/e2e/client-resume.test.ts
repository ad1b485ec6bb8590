/**
 * Resume after SIGKILL: a 1 GiB push whose registry (a real `wharf serve`) is killed mid-upload and
 * restarted on the same port and storage is finished by the same `wharf push` process, which asks
 * the session's offset and continues there: the bytes the registry received in all stay below
 * 1 GiB plus one chunk, far below what a restart from zero sends.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCuttingProxy } from '../support/cutting-proxy.js';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';
import { wharf } from './client-support.js';
import { removeDir, startWharf, tempDir, waitFor, WHARF_MAIN } from './helpers.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('wharf push resumes after the registry is killed', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('finishes a 1 GiB push across a SIGKILL and restart without sending again what the registry holds', async () => {
    const dir = await tempDir('wharf-e2e-resume-');
    cleanups.push(() => removeDir(dir));
    const server = await startWharf();
    cleanups.push(() => server.dispose());
    const proxy = await startCuttingProxy(server.host);
    cleanups.push(() => proxy.close());
    const layout = join(dir, 'layout');
    const { manifest } = await writeImage(layout, { layers: [GiB] });
    await writeLayoutIndex(layout, [manifest]);

    const env = { ...process.env, DOCKER_CONFIG: join(dir, 'cfg') };
    const push = spawn(process.execPath, [WHARF_MAIN, 'push', layout, `${proxy.host}/team/big:1`, '--chunk-size', '64', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    push.stdout.on('data', (b: Buffer) => (out += b.toString()));
    push.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((done) => push.once('exit', done));

    await waitFor('400 MiB to reach the registry', async () => proxy.sentToRegistry() > 400 * MiB, { timeoutMs: 300_000, intervalMs: 20 });
    const beforeKill = proxy.sentToRegistry();
    await server.restart('SIGKILL');
    expect(await exited, out).toBe(0);
    expect(JSON.parse(out.slice(out.indexOf('{'))).digest).toBe(manifest.digest);
    const sent = proxy.sentToRegistry();
    // a restart from zero sends 1 GiB more than what reached the registry before the kill
    expect(sent).toBeLessThan(GiB + beforeKill);
    expect(sent).toBeLessThan(GiB + 64 * MiB + 4 * MiB);
    expect((await wharf(['digest', `${server.host}/team/big:1`], env)).stdout.trim()).toBe(manifest.digest);
  });
});
