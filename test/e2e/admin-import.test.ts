/**
 * `POST /admin/v1/import` with real tools: build an image FROM the busybox base, `docker save` it
 * (Debian's dockerd 20.10 writes the old format: `manifest.json` + `<id>/layer.tar`; Docker 25 and
 * later write an OCI layout), import the tarball into a running `wharf serve`, remove the image
 * locally, then `docker pull` and `docker run` it from Wharf. The same image written by
 * `skopeo copy ... oci-archive:` (an OCI image layout tar) is imported and pulled too.
 */
import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerClient, dockerHost } from './docker-env.js';
import { BASE_IMAGE, once, removeDir, requireTools, run, startWharf, tempDir, TOOLS, type WharfServer } from './helpers.js';

/** What the image's CMD prints. */
const EXPECTED_OUTPUT = ['imported through the admin API', 'built by RUN'];

describe('admin import of image tarballs', () => {
  const tag = `t${randomBytes(4).toString('hex')}`;
  const localImage = `wharf-e2e-import:${tag}`;
  let wharf: WharfServer | undefined;
  let work: string | undefined;
  const pulled: string[] = [];

  /** Wharf, a private docker config, and the image built from the base. */
  const fixture = once(async () => {
    await requireTools(TOOLS.docker, TOOLS.skopeo);
    dockerHost(); // fails here, naming the missing package, when the global setup found no daemon
    work = await tempDir('wharf-e2e-import-');
    const docker = dockerClient(join(work, 'docker-config'));
    wharf = await startWharf();
    const context = join(work, 'context');
    await mkdir(context, { recursive: true });
    await writeFile(join(context, 'note.txt'), 'imported through the admin API\n');
    await writeFile(
      join(context, 'Dockerfile'),
      [`FROM ${BASE_IMAGE}`, 'COPY note.txt /note.txt', 'RUN echo "built by RUN" > /run.txt', 'CMD ["/bin/sh", "-c", "cat /note.txt /run.txt"]', ''].join('\n'),
    );
    await docker(['build', '--network', 'none', '-t', localImage, context]);
    const imageId = (await docker(['image', 'inspect', '--format', '{{.Id}}', localImage])).stdout.trim();
    const daemonMajor = Number((await docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim().split('.')[0]);
    return { docker, wharf, work, imageId, daemonMajor };
  });

  /** Imports the tarball at `file` as `reference`; asserts 201 and returns the answer. */
  async function importFile(server: WharfServer, reference: string, file: string): Promise<{ repository: string; tag: string; digest: string; format: string }> {
    const form = new FormData();
    form.append('reference', reference);
    form.append('tarball', await openAsBlob(file), 'image.tar');
    const res = await fetch(`${server.url}/admin/v1/import`, { method: 'POST', body: form });
    const body = (await res.json()) as { repository: string; tag: string; digest: string; format: string };
    expect(res.status, `${JSON.stringify(body)}\n${server.logs()}`).toBe(201);
    return body;
  }

  /**
   * Removes every local copy of the image, pulls `remote` from Wharf and runs it.
   * @param sameConfig the tarball carried docker's own config bytes, so the pulled image has the built image's id
   */
  async function pullAndRun(remote: string, digest: string, sameConfig: boolean): Promise<void> {
    const { docker, imageId } = await fixture();
    await docker(['rmi', '--force', imageId]);
    expect((await docker(['image', 'inspect', imageId], { allowFailure: true })).code).not.toBe(0);
    pulled.push(remote);
    const pull = await docker(['pull', remote]);
    expect(pull.output).toContain(`Digest: ${digest}`);
    if (sameConfig) expect((await docker(['image', 'inspect', '--format', '{{.Id}}', remote])).stdout.trim()).toBe(imageId);
    const out = await docker(['run', '--rm', '--network', 'none', remote]);
    expect(out.stdout.trim().split('\n')).toEqual(EXPECTED_OUTPUT);
  }

  afterAll(async () => {
    if (work) {
      const docker = dockerClient(join(work, 'docker-config'));
      await docker(['rmi', '--force', localImage, ...pulled], { allowFailure: true }).catch(() => undefined);
    }
    try {
      await wharf?.dispose();
    } finally {
      if (work) await removeDir(work);
    }
  });

  it('imports a docker save tarball that docker then pulls from Wharf and runs', async () => {
    const { docker, wharf: server, work: dir, daemonMajor } = await fixture();
    const tarball = join(dir, 'docker-save.tar');
    await docker(['save', '-o', tarball, localImage]);
    const body = await importFile(server, `imported/app:${tag}`, tarball);
    expect(body).toMatchObject({ repository: 'imported/app', tag, format: daemonMajor < 25 ? 'docker-save' : 'oci-layout' });
    const tags = (await (await fetch(`${server.url}/admin/v1/repositories/imported/app/tags`)).json()) as { tags: { tag: string; digest: string }[] };
    expect(tags.tags).toEqual([expect.objectContaining({ tag, digest: body.digest })]);
    await pullAndRun(`${server.host}/imported/app:${tag}`, body.digest, true);
  });

  it('imports an OCI layout tarball written by skopeo that docker then pulls and runs', async () => {
    const { docker, wharf: server, work: dir } = await fixture();
    await docker(['tag', `${server.host}/imported/app:${tag}`, localImage], { allowFailure: true }); // when the first test removed it
    const archive = join(dir, 'oci.tar');
    await run('skopeo', ['copy', '--src-daemon-host', dockerHost(), `docker-daemon:${localImage}`, `oci-archive:${archive}:${tag}`], { timeoutMs: 120_000 });
    const body = await importFile(server, `imported/oci:${tag}`, archive);
    expect(body).toMatchObject({ repository: 'imported/oci', tag, format: 'oci-layout' });
    await pullAndRun(`${server.host}/imported/oci:${tag}`, body.digest, false); // skopeo rewrites the config as an OCI config
  });
});
