/**
 * OCI image layouts written for the client's tests: images of random layers (random bytes under a
 * layer media type: registries store layers without reading them), two-platform indexes, and
 * referrers (an artifact whose `subject` is an image), written the way an OCI layout holds them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

/** A descriptor as the tests build them. */
export interface TestDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** sha256 of bytes. */
export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Writes bytes as a blob of the layout at `dir`. */
export async function putLayoutBlob(dir: string, mediaType: string, bytes: Buffer): Promise<TestDescriptor> {
  const digest = sha256(bytes);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}

/**
 * Writes a blob of `size` pseudo-random bytes streamed to disk (never whole in memory), hashing on the way.
 * @returns its descriptor
 */
export async function putLargeBlob(dir: string, mediaType: string, size: number): Promise<TestDescriptor> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const temp = join(dir, 'blobs', `large-${randomBytes(4).toString('hex')}`);
  const hash = createHash('sha256');
  const block = randomBytes(1024 * 1024);
  let left = size;
  let n = 0;
  async function* bytes() {
    while (left > 0) {
      const chunk = Buffer.from(block.subarray(0, Math.min(left, block.length)));
      chunk.writeUInt32LE(n++, 0);
      left -= chunk.length;
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(Readable.from(bytes()), createWriteStream(temp));
  const digest = `sha256:${hash.digest('hex')}`;
  const { rename } = await import('node:fs/promises');
  await rename(temp, join(dir, 'blobs', 'sha256', digest.slice(7)));
  return { mediaType, digest, size };
}

/** Writes `oci-layout` and `index.json` naming `manifests`. */
export async function writeLayoutIndex(dir: string, manifests: TestDescriptor[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
}

/** Options of {@link writeImage}. */
export interface ImageSpec {
  /** sizes of the layers in bytes (default one of 64 KiB) */
  layers?: number[];
  platform?: { os: string; architecture: string; variant?: string };
}

/** Writes an image (config + random layers + manifest) into the layout's blobs; returns the manifest's descriptor. */
export async function writeImage(dir: string, spec: ImageSpec = {}): Promise<{ manifest: TestDescriptor; layers: TestDescriptor[] }> {
  const layers: TestDescriptor[] = [];
  for (const size of spec.layers ?? [64 * 1024]) {
    layers.push(size > 8 * 1024 * 1024 ? await putLargeBlob(dir, 'application/vnd.oci.image.layer.v1.tar+gzip', size) : await putLayoutBlob(dir, 'application/vnd.oci.image.layer.v1.tar+gzip', randomBytes(size)));
  }
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = await putLayoutBlob(
    dir,
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(JSON.stringify({ ...platform, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {}, nonce: randomBytes(8).toString('hex') })),
  );
  const manifest = await putLayoutBlob(
    dir,
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers })),
  );
  return { manifest: { ...manifest, platform }, layers };
}

/** Writes a two-platform index (amd64, arm64/v8) named `tag` and a referrer of its amd64 image named `<tag>-sbom`. */
export async function writeIndexLayout(dir: string, tag: string): Promise<{ index: TestDescriptor; images: TestDescriptor[]; referrer: TestDescriptor }> {
  const amd64 = await writeImage(dir, { platform: { os: 'linux', architecture: 'amd64' } });
  const arm64 = await writeImage(dir, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  const index = await putLayoutBlob(
    dir,
    'application/vnd.oci.image.index.v1+json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [amd64.manifest, arm64.manifest] })),
  );
  const referrer = await writeReferrer(dir, amd64.manifest);
  await writeLayoutIndex(dir, [
    { ...index, annotations: { 'org.opencontainers.image.ref.name': tag } },
    { ...referrer, annotations: { 'org.opencontainers.image.ref.name': `${tag}-sbom` } },
  ]);
  return { index, images: [amd64.manifest, arm64.manifest], referrer };
}

/** Writes an artifact manifest (an SBOM) whose subject is `subject`. */
export async function writeReferrer(dir: string, subject: TestDescriptor): Promise<TestDescriptor> {
  const empty = await putLayoutBlob(dir, 'application/vnd.oci.empty.v1+json', Buffer.from('{}'));
  const sbom = await putLayoutBlob(dir, 'application/spdx+json', Buffer.from(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: randomBytes(4).toString('hex') })));
  const { platform: _p, ...subjectDesc } = subject;
  const manifest = await putLayoutBlob(
    dir,
    'application/vnd.oci.image.manifest.v1+json',
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'application/spdx+json', config: empty, layers: [sbom], subject: subjectDesc })),
  );
  return { ...manifest, artifactType: 'application/spdx+json' };
}
