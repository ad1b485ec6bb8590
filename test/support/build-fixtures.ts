/**
 * Fixtures of the build helper's tests: build contexts on disk, real layer tars, base images pushed
 * through the registry client (OCI or Docker schema 2, one or several platforms), and readers of
 * what a build wrote to an OCI layout (manifests, configs, each layer's entries).
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { uploadBlob, type RegistryClient } from '../../src/client/index.js';
import type { Digest } from '../../src/oci/digest.js';
import type { ImageReference } from '../../src/oci/image-reference.js';

/** A file of a context: text, or text with a mode, or a symlink. */
export type FileSpec = string | { content: string | Buffer; mode?: number } | { symlink: string };

/** Writes files (path -> spec) under `dir`. */
export async function writeFiles(dir: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [path, spec] of Object.entries(files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    if (typeof spec === 'object' && 'symlink' in spec) {
      await symlink(spec.symlink, file);
      continue;
    }
    const content = typeof spec === 'string' ? spec : spec.content;
    await writeFile(file, content);
    if (typeof spec === 'object' && spec.mode !== undefined) await chmod(file, spec.mode);
  }
}

/** One entry of a tar made by {@link makeTar}. */
export interface TarSpec {
  path: string;
  type?: 'file' | 'directory' | 'symlink';
  content?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
}

/** A tar of `entries` (in the order given), as bytes. */
export async function makeTar(entries: TarSpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { name: e.path, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(0), linkname: e.linkname },
        type === 'file' ? (e.content ?? '') : '',
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;

/** A platform image of a base: its platform and layers (each a list of tar entries). */
export interface BasePlatform {
  platform: { os: string; architecture: string; variant?: string };
  layers: TarSpec[][];
  config?: Record<string, unknown>;
}

/**
 * Pushes a base image to `ref`: an index when several platforms are given (or `index` is set).
 * @returns the root manifest's digest
 */
export async function pushBase(client: RegistryClient, ref: ImageReference, platforms: BasePlatform[], format: 'oci' | 'docker' = 'oci', index = platforms.length > 1): Promise<Digest> {
  const docker = format === 'docker';
  const types = docker
    ? { manifest: 'application/vnd.docker.distribution.manifest.v2+json', list: 'application/vnd.docker.distribution.manifest.list.v2+json', config: 'application/vnd.docker.container.image.v1+json', layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip' }
    : { manifest: 'application/vnd.oci.image.manifest.v1+json', list: 'application/vnd.oci.image.index.v1+json', config: 'application/vnd.oci.image.config.v1+json', layer: 'application/vnd.oci.image.layer.v1.tar+gzip' };
  const put = async (mediaType: string, bytes: Buffer) => {
    const desc = { mediaType, digest: sha(bytes), size: bytes.length };
    await uploadBlob(client, ref, desc, async (o, l) => Readable.from([bytes.subarray(o, o + l)]));
    return desc;
  };
  const children = [];
  for (const p of platforms) {
    const layers = [];
    const diffIds = [];
    for (const entries of p.layers) {
      const t = await makeTar(entries);
      diffIds.push(sha(t));
      layers.push(await put(types.layer, gzipSync(t)));
    }
    const config = await put(types.config, Buffer.from(JSON.stringify({ ...p.platform, config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'], ...p.config }, rootfs: { type: 'layers', diff_ids: diffIds }, history: diffIds.map(() => ({ created_by: 'base' })) })));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: types.manifest, config, layers }));
    if (!index) return client.putManifest(ref, ref.tag ?? 'latest', manifest, types.manifest);
    children.push({ mediaType: types.manifest, digest: await client.putManifest(ref, sha(manifest), manifest, types.manifest), size: manifest.length, platform: p.platform });
  }
  const list = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: types.list, manifests: children }));
  return client.putManifest(ref, ref.tag ?? 'latest', list, types.list);
}

/** An entry of a layer as read back. */
export interface ReadEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  content?: string;
  linkname?: string;
}

/** The entries of a gzip layer tar (contents of files up to 4 KiB as text). */
export async function layerEntries(gz: Buffer): Promise<ReadEntry[]> {
  const extract = tar.extract();
  const entries: ReadEntry[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      entries.push({ path: h.name, type: h.type ?? 'file', mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000, uname: h.uname ?? '', ...(h.type === 'file' && body.length <= 4096 ? { content: body.toString('utf8') } : {}), ...(h.linkname ? { linkname: h.linkname } : {}) });
    }
  })();
  extract.end(gunzipSync(gz));
  await reading;
  return entries;
}

/** An OCI layout written by a build, read back. */
export interface LayoutImage {
  root: { mediaType: string; digest: string };
  rootJson: { manifests?: { digest: string; platform?: Record<string, string> }[] };
  manifest: { mediaType: string; config: { digest: string }; layers: { digest: string; mediaType: string; size: number }[] };
  config: { config: Record<string, unknown>; rootfs: { diff_ids: string[] }; history: { created_by?: string; empty_layer?: boolean }[]; created: string; architecture: string };
  layers: ReadEntry[][];
}

/** Reads the image of the layout at `dir` (for an index, the child of `index` position). */
export async function readLayoutImage(dir: string, child = 0): Promise<LayoutImage> {
  const blob = (digest: string) => readFile(join(dir, 'blobs', 'sha256', digest.slice(7)));
  const json = async (digest: string) => JSON.parse((await blob(digest)).toString('utf8'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  const root = index.manifests[0];
  const rootJson = await json(root.digest);
  const manifest = rootJson.manifests ? await json(rootJson.manifests[child].digest) : rootJson;
  const config = await json(manifest.config.digest);
  const layers = [];
  for (const l of manifest.layers) layers.push(await layerEntries(await blob(l.digest)));
  return { root, rootJson, manifest, config, layers };
}
