/**
 * Image tarballs as a destination. Blobs are pulled (in parallel) into a temporary OCI layout
 * beside the destination, which is then written as one tar under a temporary name and renamed into
 * place: nothing partial is ever at the destination. `docker-archive` adds Docker's `manifest.json`
 * (Config, RepoTags, Layers pointing into `blobs/`), the shape Docker 25's `docker save` writes, so
 * that `docker load` (20.10 included) and OCI tools both read it; it holds one image, so an index
 * must be narrowed to a platform first.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { parseManifest } from '../../oci/manifest.js';
import { ClientError } from '../errors.js';
import type { FetchedManifest } from '../registry-client.js';
import { blobPath, layoutSink, type LayoutSinkOptions } from './layout.js';
import type { ImageSink } from './types.js';

/** The tar format of an archive destination. */
export type ArchiveFormat = 'oci-archive' | 'docker-archive';

/**
 * A tarball at `file` as a destination.
 * @param tag the image's name inside: its ref.name in index.json; for docker-archive, the full
 *   reference `docker load` tags it with (e.g. `localhost:5000/team/app:1.0`) in RepoTags
 */
export function archiveSink(file: string, format: ArchiveFormat, tag: string | undefined, options: LayoutSinkOptions = {}): ImageSink {
  const staging = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.layout`);
  const layout = layoutSink(staging, format === 'oci-archive' ? tag : undefined, options);
  let root: FetchedManifest | undefined;
  return {
    name: `${format}:${file}`,
    putBlob: (desc, open, o) => layout.putBlob(desc, open, o),
    async putManifest(m, o) {
      if (o.root) {
        if (format === 'docker-archive' && parseManifest(m.bytes, m.mediaType).kind === 'index') {
          throw new ClientError('INVALID_IMAGE', `a docker-archive holds one image and ${m.digest} is an index: pick one with --platform`);
        }
        root = m;
      }
      await layout.putManifest(m, o);
    },
    async commit() {
      await layout.commit();
      const extra: Record<string, Buffer> = {};
      if (format === 'docker-archive' && root) {
        const parsed = parseManifest(root.bytes, root.mediaType);
        const rel = (d: string) => `blobs/${d.replace(':', '/')}`;
        const [config, ...layers] = parsed.blobs;
        extra['manifest.json'] = Buffer.from(JSON.stringify([{ Config: rel(config!.digest), RepoTags: tag ? [tag] : [], Layers: layers.map((l) => rel(l.digest)) }]));
      }
      const temp = `${file}.${randomBytes(4).toString('hex')}.partial`;
      try {
        await writeTar(staging, temp, extra);
        await rename(temp, file);
      } finally {
        await rm(temp, { force: true });
        await rm(staging, { recursive: true, force: true });
      }
    },
    async abort() {
      await layout.abort();
      await rm(staging, { recursive: true, force: true });
    },
  };
}

/** Writes the layout at `dir` (and `extra` files) as a tar at `file`, streaming each blob. */
async function writeTar(dir: string, file: string, extra: Record<string, Buffer>): Promise<void> {
  const pack = tar.pack();
  const writing = pipeline(pack, createWriteStream(file));
  const add = (name: string, size: number, body: NodeJS.ReadableStream | Buffer) =>
    new Promise<void>((resolve, reject) => {
      const header = { name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 };
      if (Buffer.isBuffer(body)) return void pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
      const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      pipeline(body, entry).catch(reject);
    });
  try {
    for (const name of ['oci-layout', 'index.json']) {
      const path = join(dir, name);
      await add(name, (await stat(path)).size, createReadStream(path));
    }
    for (const [name, bytes] of Object.entries(extra)) await add(name, bytes.length, bytes);
    for (const algorithm of await readdir(join(dir, 'blobs'))) {
      for (const hex of (await readdir(join(dir, 'blobs', algorithm))).sort()) {
        const path = blobPath(dir, `${algorithm}:${hex}` as never);
        await add(`blobs/${algorithm}/${hex}`, (await stat(path)).size, createReadStream(path));
      }
    }
    pack.finalize();
    await writing;
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    throw err;
  }
}
