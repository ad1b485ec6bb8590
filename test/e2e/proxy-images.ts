/**
 * The upstream's images for the pull-through e2e test, written as OCI image layouts (what
 * `skopeo copy oci:DIR:REF docker://...` pushes): `busybox` as a two-platform index (Debian's static
 * busybox, the amd64 binary in both, which is enough for a test of a two-platform index), and a
 * single-layer image of one large file of random bytes.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, putBlob, sha256, type Descriptor } from './oci-layout.js';
import { run } from './helpers.js';

/** The OCI uncompressed layer media type. */
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

async function startLayout(layout: string): Promise<void> {
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

async function tag(layout: string, ref: string, desc: Descriptor): Promise<void> {
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ ...desc, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
}

/** An image manifest of `layer` with a config for `platform`; returns its descriptor. */
async function image(layout: string, layer: Descriptor, diffId: string, platform: { architecture: string; os: string }, cmd: string[]): Promise<Descriptor> {
  const config = await putBlob(
    layout,
    OCI_CONFIG,
    JSON.stringify({ created: '2024-01-01T00:00:00Z', ...platform, config: { Cmd: cmd }, rootfs: { type: 'layers', diff_ids: [diffId] }, history: [{ created: '2024-01-01T00:00:00Z', created_by: 'wharf e2e' }] }),
  );
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: config.mediaType, digest: config.digest, size: config.size }, layers: [layer] };
  return putBlob(layout, OCI_MANIFEST, JSON.stringify(manifest));
}

/**
 * Writes `busybox` as a two-platform index (linux/amd64, linux/arm64) tagged `ref` into `layout`:
 * one gzip layer of /bin/busybox and its applet links, `CMD ["sh"]`.
 * @param nonce written into the configs, so that two calls give two digests (a tag that moved)
 * @returns the index's descriptor
 */
export async function writeBusyboxIndex(work: string, layout: string, ref: string, nonce = ''): Promise<Descriptor> {
  await startLayout(layout);
  const rootfs = join(work, `busybox-rootfs${nonce}`);
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await copyFile('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  const applets = (await run('/bin/busybox', ['--list'])).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a) && a !== 'busybox');
  for (const applet of applets) await symlink('busybox', join(rootfs, 'bin', applet));
  if (nonce) await writeFile(join(rootfs, 'etc-nonce'), nonce);
  if ((await readdir(join(rootfs, 'bin'))).length < 50) throw new Error('busybox --list gave too few applets: is /bin/busybox Debian\'s busybox-static?');
  const tarFile = join(work, `busybox${nonce}.tar`);
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tarFile, '.']);
  const tar = await readFile(tarFile);
  const layer = await putBlob(layout, OCI_LAYER_GZIP, gzipSync(tar));
  const platforms = [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux' },
  ];
  const manifests = [];
  for (const platform of platforms) manifests.push({ ...(await image(layout, layer, sha256(tar), platform, ['sh'])), platform });
  const index = await putBlob(layout, OCI_INDEX, JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  await tag(layout, ref, index);
  return index;
}

/**
 * Writes a single-layer image tagged `ref` into `layout`: an uncompressed tar of one file of `size`
 * random bytes, written and hashed in 4 MiB pieces (never whole in memory).
 * @returns the image manifest's and the layer's descriptors
 */
export async function writeBigImage(work: string, layout: string, ref: string, size: number): Promise<{ manifest: Descriptor; layer: Descriptor }> {
  await startLayout(layout);
  const rootfs = join(work, 'big-rootfs');
  await mkdir(rootfs, { recursive: true });
  const file = await open(join(rootfs, 'big.bin'), 'w');
  const piece = Buffer.alloc(4 * 1024 * 1024);
  for (let written = 0; written < size; written += piece.length) await file.write(randomFillSync(piece), 0, Math.min(piece.length, size - written));
  await file.close();
  const tarFile = join(work, 'big.tar');
  await run('tar', ['--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tarFile, 'big.bin']);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(tarFile)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(tarFile, join(layout, 'blobs', 'sha256', digest.slice(7)));
  const layer = { mediaType: OCI_LAYER_TAR, digest, size: bytes };
  const manifest = await image(layout, layer, digest, { architecture: 'amd64', os: 'linux' }, ['sh']);
  await tag(layout, ref, manifest);
  return { manifest, layer };
}
