/**
 * `wharf rm`: REPO:TAG deletes the tag alone (the manifest and its other tags stay), REPO@DIGEST
 * deletes the manifest with every tag, and a registry that refuses a tag's DELETE (405) is a
 * one-line failure naming `wharf rm REPO@DIGEST`, with nothing deleted.
 */
import { mkdtemp, rm as rmDir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { rm } from '../../src/cli/rm.js';
import { copyImage, layoutSource, listTags, parseImageReference, RegistryClient, registrySink } from '../../src/client/index.js';
import { forEachDriver } from './harness.js';
import { writeImage, writeLayoutIndex } from '../support/layouts.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Pushes one image tagged 1.0 and stable to HOST/team/hello; returns its digest. */
async function pushTwoTags(host: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cli-rm-'));
  cleanups.push(() => rmDir(dir, { recursive: true, force: true }));
  const { manifest } = await writeImage(join(dir, 'src'));
  await writeLayoutIndex(join(dir, 'src'), [manifest]);
  const c = new RegistryClient();
  cleanups.push(() => c.close());
  for (const tag of ['1.0', 'stable']) await copyImage(layoutSource(join(dir, 'src')), registrySink(c, parseImageReference(`${host}/team/hello:${tag}`)));
  return manifest.digest;
}

/** Runs `wharf rm` and returns what it wrote on stderr. */
async function wharfRm(reference: string): Promise<string> {
  const written: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
  try {
    await rm(reference, {});
  } finally {
    vi.restoreAllMocks();
  }
  return written.join('');
}

forEachDriver((make) => {
  it('rm REPO:TAG deletes that tag only: the manifest and its other tags stay', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const digest = await pushTwoTags(host);
    expect(await wharfRm(`${host}/team/hello:stable`)).toBe(`deleted tag ${host}/team/hello:stable (the manifest and its other tags stay)\n`);
    const c = new RegistryClient();
    cleanups.push(() => c.close());
    expect(await listTags(c, parseImageReference(`${host}/team/hello`))).toEqual(['1.0']);
    expect((await reg.http.head(`/v2/team/hello/manifests/${digest}`)).status).toBe(200);
  });

  it('rm REPO@DIGEST deletes the manifest and every tag pointing at it', async () => {
    const reg = await make();
    const host = new URL(reg.url).host;
    const digest = await pushTwoTags(host);
    expect(await wharfRm(`${host}/team/hello@${digest}`)).toBe(`deleted manifest ${host}/team/hello@${digest} and every tag pointing at it\n`);
    expect((await reg.http.head(`/v2/team/hello/manifests/${digest}`)).status).toBe(404);
    expect((await reg.http.head('/v2/team/hello/manifests/1.0')).status).toBe(404);
  });

  it('rm REPO:TAG where the registry refuses tag deletes fails in one line naming rm REPO@DIGEST, and deletes nothing', async () => {
    const reg = await make({ deleteEnabled: false });
    const host = new URL(reg.url).host;
    const digest = await pushTwoTags(host);
    const failure = await wharfRm(`${host}/team/hello:stable`).then(() => undefined, (err: Error) => err.message);
    expect(failure).toBe(
      `${host} does not delete tags (405 UNSUPPORTED; or deletes are disabled there), so stable was kept: wharf rm ${host}/team/hello@${digest} deletes the manifest and every tag pointing at it`,
    );
    expect((await reg.http.head('/v2/team/hello/manifests/stable')).status).toBe(200);
    expect((await reg.http.head(`/v2/team/hello/manifests/${digest}`)).status).toBe(200);
  });
});
