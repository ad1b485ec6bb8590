/**
 * Hand-written OCI image layouts for the e2e suite (what `skopeo copy oci:<dir>:<ref>` reads): blobs,
 * a reproducible layer tar, and a two-platform image index.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from './helpers.js';

/** The OCI image manifest media type. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** The OCI image index media type. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** The OCI image config media type. */
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
/** The OCI gzip layer media type. */
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** sha256 digest of bytes, `sha256:<hex>`. */
export function sha256(bytes: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

/** Writes bytes into an OCI layout's blob store; returns their descriptor. */
export async function putBlob(layout: string, mediaType: string, bytes: Uint8Array | string): Promise<Descriptor> {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
  const digest = sha256(buf);
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)), buf);
  return { mediaType, digest, size: buf.length };
}

/** Reads a blob of an OCI layout. */
export function readBlob(layout: string, digest: string): Promise<Buffer> {
  return readFile(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
}

/** A reproducible tar (system GNU tar) of `files` (path -> content), read back as bytes. */
export async function makeTar(work: string, name: string, files: Record<string, string>): Promise<Buffer> {
  const dir = join(work, `${name}-rootfs`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const tarFile = join(work, `${name}.tar`);
  await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', tarFile, '.']);
  return readFile(tarFile);
}

/** One platform of the hand-written image index. */
export interface PlatformImage {
  platform: { architecture: string; os: string; variant?: string };
  manifest: Descriptor;
  config: Descriptor;
  layer: Descriptor;
}

/**
 * Writes an OCI image layout holding a two-platform image index (linux/amd64, linux/arm64/v8),
 * each image one gzip layer, and tags the index `ref` in index.json.
 */
export async function writeMultiPlatformLayout(work: string, layout: string, ref: string) {
  await mkdir(layout, { recursive: true });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const images: PlatformImage[] = [];
  for (const platform of [
    { architecture: 'amd64', os: 'linux' },
    { architecture: 'arm64', os: 'linux', variant: 'v8' },
  ]) {
    const name = `${platform.os}-${platform.architecture}`;
    const tar = await makeTar(work, name, {
      'etc/platform': `${platform.os}/${platform.architecture}\n`,
      'app/data.bin': randomBytes(64 * 1024).toString('base64'),
    });
    const layer = await putBlob(layout, OCI_LAYER_GZIP, gzipSync(tar));
    const config = await putBlob(
      layout,
      OCI_CONFIG,
      JSON.stringify({
        created: '2024-01-01T00:00:00Z',
        ...platform,
        config: { Cmd: ['/bin/cat', '/etc/platform'] },
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
        history: [{ created: '2024-01-01T00:00:00Z', created_by: 'wharf e2e' }],
      }),
    );
    const manifest = await putBlob(
      layout,
      OCI_MANIFEST,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: [{ mediaType: layer.mediaType, digest: layer.digest, size: layer.size }],
        annotations: { 'org.opencontainers.image.title': `wharf e2e ${name}` },
      }),
    );
    images.push({ platform, manifest: { ...manifest, platform }, config, layer });
  }
  const index = await putBlob(
    layout,
    OCI_INDEX,
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: images.map((i) => i.manifest) }),
  );
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': ref } }],
    }),
  );
  return { index, images };
}

/** The descriptor that an OCI layout's index.json tags `ref`. */
export async function layoutRef(layout: string, ref: string): Promise<Descriptor> {
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const found = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === ref);
  if (!found) throw new Error(`${layout}/index.json has no ref ${ref}: ${JSON.stringify(index)}`);
  return found;
}
