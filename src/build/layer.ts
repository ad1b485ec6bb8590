/**
 * Reproducible layers (ko `pkg/build/gobuild.go`, apko `pkg/tarfs`): a layer is a pure function of
 * its entries and the build time. Entries are sorted by path (parents before children), written
 * with tar-stream as ustar headers (pax only for long or non-ASCII names) with uid/gid as given and
 * no user or group names, permission bits as given, every mtime the build time
 * (`SOURCE_DATE_EPOCH`, else 0), no atime/ctime, no device numbers; then gzipped by
 * {@link ReproducibleGzip}. Both digests (`diffID` of the tar, `digest` of the gzip) are computed
 * while the bytes stream to a file of the blob cache: no file is ever held in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import * as tar from 'tar-stream';
import type { Digest } from '../oci/digest.js';
import { ReproducibleGzip } from './gzip.js';
import type { FileContent, LayerEntry } from './tree.js';

/** A layer written to the blob cache. */
export interface LayerBlob {
  /** sha256 of the gzip bytes: the blob's digest */
  digest: Digest;
  /** sha256 of the tar: the config's `rootfs.diff_ids` entry */
  diffId: Digest;
  /** bytes of the gzip */
  size: number;
}

/** Options of {@link writeLayer}. */
export interface WriteLayerOptions {
  /** every entry's mtime, seconds since the epoch */
  mtime: number;
  /** the blob cache folder (`blobs/sha256/<hex>` under it) */
  blobDir: string;
  signal?: AbortSignal;
  /** uncompressed bytes written so far */
  onProgress?: (bytes: number) => void;
}

/** Sorts entries by path, byte-wise, so parents (prefixes) come before their children. */
export function sortEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  return [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The path of blob `digest` in the blob cache. */
export function blobFile(blobDir: string, digest: Digest): string {
  return join(blobDir, 'sha256', digest.slice('sha256:'.length));
}

/** A pass-through that hashes and counts. */
class Tap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly onBytes?: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
  digest(): Digest {
    return `sha256:${this.hash.digest('hex')}` as Digest;
  }
}

/**
 * Writes the layer of `entries` into the blob cache.
 * @throws Error when a file changed size or identity while it was read (the build is not what was asked)
 */
export async function writeLayer(entries: readonly LayerEntry[], o: WriteLayerOptions): Promise<LayerBlob> {
  const pack = tar.pack();
  const diff = new Tap(o.onProgress);
  const compressed = new Tap();
  await mkdir(join(o.blobDir, 'sha256'), { recursive: true });
  const temp = join(o.blobDir, 'sha256', `.${randomBytes(8).toString('hex')}.partial`);
  const writing = pipeline(pack, diff, new ReproducibleGzip(), compressed, createWriteStream(temp), { signal: o.signal });
  try {
    const mtime = new Date(o.mtime * 1000);
    for (const e of sortEntries(entries)) {
      o.signal?.throwIfAborted();
      const header: tar.Header = {
        name: e.type === 'dir' ? `${e.path}/` : e.path,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
        uname: '',
        gname: '',
        mtime,
        type: e.type === 'dir' ? 'directory' : e.type === 'symlink' ? 'symlink' : 'file',
        size: e.type === 'file' ? e.size : 0,
        linkname: e.type === 'symlink' ? (e.linkname ?? '') : '',
        devmajor: 0,
        devminor: 0,
      };
      if (e.type === 'file') await addFile(pack, header, e);
      else await new Promise<void>((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
    }
    pack.finalize();
    await writing;
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  const blob: LayerBlob = { digest: compressed.digest(), diffId: diff.digest(), size: compressed.bytes };
  await rename(temp, blobFile(o.blobDir, blob.digest));
  return blob;
}

async function addFile(pack: tar.Pack, header: tar.Header, e: LayerEntry): Promise<void> {
  const content = e.content;
  if (!content) throw new Error(`${e.path}: no content to read`);
  const done = new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    const source = e.size === 0 ? new PassThrough().end() : createReadStream(content.path, { start: 0, end: e.size - 1, highWaterMark: 1024 * 1024 });
    pipeline(source, sink).catch(reject);
  });
  await done;
  await checkUnchanged(content, e.path);
}

/** Fails when the file at `content.path` is no longer the one its entry was planned from. */
export async function checkUnchanged(content: FileContent, what: string): Promise<void> {
  const now = await stat(content.path, { bigint: true });
  if (Number(now.size) !== content.size || now.mtimeNs !== content.mtimeNs || Number(now.ino) !== content.ino) {
    throw new Error(`${what} (${content.path}) changed while the build read it: build again once it is written`);
  }
}

/** Opens `length` bytes of a cached blob from `offset` (what uploads and outputs read). */
export function openBlob(blobDir: string, digest: Digest, offset: number, length: number): NodeJS.ReadableStream {
  if (length === 0) return new PassThrough().end();
  return createReadStream(blobFile(blobDir, digest), { start: offset, end: offset + length - 1, highWaterMark: 1024 * 1024 });
}
