/**
 * `wharf gc` (the CLI, its own process) against the storage of a running `wharf serve`: two images
 * built with docker that share the base layer are pushed; one tag is deleted; a dry run reports
 * the bytes and deletes nothing; the real run frees exactly the deleted image's own bytes (its
 * manifest, config and the layers the other image does not share); the remaining image still
 * `docker pull`s and runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GcReport } from '../../src/gc/collector.js';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, removeDir, requireTools, run, startWharf, tempDir, TOOLS, WHARF_MAIN, type WharfServer } from './helpers.js';

const MANIFEST_TYPES = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

interface Descriptor {
  digest: string;
  size: number;
}

/** The manifest of `repo:tag`: its digest, its size in bytes and its config and layers. */
async function manifestOf(url: string, repo: string, tag: string): Promise<{ digest: string; size: number; blobs: Descriptor[] }> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { headers: { Accept: MANIFEST_TYPES } });
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  const manifest = JSON.parse(body.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  return { digest: res.headers.get('docker-content-digest')!, size: body.length, blobs: [manifest.config, ...manifest.layers] };
}

describe('wharf gc beside a running wharf serve', () => {
  let wharf: WharfServer | undefined;
  let work: string | undefined;
  const tag = `t${randomBytes(4).toString('hex')}`;
  const images = [`wharf-e2e-gc-keep:${tag}`, `wharf-e2e-gc-drop:${tag}`];

  afterAll(async () => {
    if (work && wharf) {
      const docker = dockerClient(join(work, 'docker-config'));
      await docker(['rmi', '--force', ...images, `${wharf.host}/team/keep:1`, `${wharf.host}/team/drop:1`], { allowFailure: true }).catch(() => undefined);
    }
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('frees the bytes of a deleted tag that nothing else shares; the remaining image still pulls and runs', async () => {
    await requireTools(TOOLS.docker);
    dockerHost();
    work = await tempDir('wharf-e2e-gc-');
    const docker = dockerClient(join(work, 'docker-config'));
    wharf = await startWharf();
    const server = wharf;

    // two images FROM the same base, each with its own layers
    for (const [i, image] of images.entries()) {
      const context = join(work, `context-${i}`);
      await mkdir(context, { recursive: true });
      await writeFile(
        join(context, 'Dockerfile'),
        [`FROM ${BASE_IMAGE}`, `RUN head -c ${65536 * (i + 1)} /dev/urandom > /data.bin`, `CMD ["/bin/sh", "-c", "echo gc-e2e-${i}"]`, ''].join('\n'),
      );
      await docker(['build', '--network', 'none', '-t', image, context]);
    }
    await docker(['tag', images[0]!, `${server.host}/team/keep:1`]);
    await docker(['tag', images[1]!, `${server.host}/team/drop:1`]);
    await docker(['push', `${server.host}/team/keep:1`]);
    await docker(['push', `${server.host}/team/drop:1`]);

    const keep = await manifestOf(server.url, 'team/keep', '1');
    const drop = await manifestOf(server.url, 'team/drop', '1');
    const kept = new Set(keep.blobs.map((b) => b.digest));
    const own = drop.blobs.filter((b) => !kept.has(b.digest));
    expect(own.length).toBeGreaterThan(0);
    expect(own.length).toBeLessThan(drop.blobs.length); // the base layer is shared
    const expectedBytes = drop.size + own.reduce((sum, b) => sum + b.size, 0);

    expect((await fetch(`${server.url}/v2/team/drop/manifests/1`, { method: 'DELETE' })).status).toBe(202);

    const configFile = join(work, 'gc.yml');
    await writeFile(configFile, `storage:\n  filesystem:\n    rootdirectory: ${JSON.stringify(server.root)}\ngc:\n  grace: 0s\n`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_')));
    const gc = (args: string[]) => run(process.execPath, [WHARF_MAIN, 'gc', '--config', configFile, ...args], { env, timeoutMs: 60_000 });

    const dry = JSON.parse((await gc(['--dry-run', '--delete-untagged', '--json'])).stdout) as GcReport;
    expect(dry).toMatchObject({ dryRun: true, manifestsDeleted: 1, blobsDeleted: own.length + 1, bytesFreed: expectedBytes });
    const stillThere = await fetch(`${server.url}/v2/team/drop/blobs/${own[0]!.digest}`, { method: 'HEAD' });
    expect(stillThere.status).toBe(200);

    const text = await gc(['--delete-untagged']);
    expect(text.stdout).toContain(`deleted 0 tags (retention), 1 manifests, ${own.length + 1} blobs (${expectedBytes} bytes)`);
    expect(text.stdout).toContain('team/drop: 0 tags, 1 manifests');

    const gone = await fetch(`${server.url}/v2/team/drop/blobs/${own[0]!.digest}`, { method: 'HEAD' });
    expect(gone.status).toBe(404);

    await docker(['rmi', '--force', images[0]!, `${server.host}/team/keep:1`]);
    const pull = await docker(['pull', `${server.host}/team/keep:1`]);
    expect(pull.output).toContain(`Digest: ${keep.digest}`);
    const out = await docker(['run', '--rm', '--network', 'none', `${server.host}/team/keep:1`]);
    expect(out.stdout.trim()).toBe('gc-e2e-0');
  });
});
