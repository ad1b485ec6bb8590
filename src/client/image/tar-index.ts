/**
 * Random access to a tarball's files: one pass over the tar (gunzipped into a temporary file first
 * when compressed) records each regular file's data offset, size, sha256 and whether it starts a
 * gzip stream, and each link; files are then read by range straight from the tarball. A `docker
 * save` tarball's entries come in any order and its manifest comes last, so this is how a push
 * reads it without extracting it or holding it in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { Digest } from '../../oci/digest.js';
import { ClientError } from '../errors.js';

/** A regular file of a tarball. */
export interface TarFile {
  path: string;
  /** byte offset of its data in the (uncompressed) tarball */
  offset: number;
  /** bytes */
  size: number;
  /** sha256 of its data */
  digest: Digest;
  /** its first bytes are gzip's magic */
  gzip: boolean;
}

/** An indexed tarball. */
export interface TarIndex {
  /** the uncompressed tarball read by range (the input, or a temporary gunzipped copy) */
  file: string;
  files: Map<string, TarFile>;
  /** a link's path to its target's path */
  links: Map<string, string>;
  /** Finds a file by path, following links. */
  find(path: string): TarFile | undefined;
  /** Removes the temporary gunzipped copy, if any. */
  close(): Promise<void>;
}

/**
 * Indexes the tarball at `file`.
 * @throws ClientError INVALID_IMAGE when it is not a tar (or a gzip of one)
 */
export async function indexTar(file: string, signal?: AbortSignal): Promise<TarIndex> {
  let tarFile = file;
  let temp: string | undefined;
  if (await startsWithGzip(file)) {
    temp = join(tmpdir(), `wharf-${randomBytes(6).toString('hex')}.tar`);
    try {
      await pipeline(createReadStream(file), createGunzip(), createWriteStream(temp), { signal });
    } catch (err) {
      await rm(temp, { force: true });
      throw notImage(file, `cannot gunzip it: ${(err as Error).message}`, err);
    }
    tarFile = temp;
  }
  const files = new Map<string, TarFile>();
  const links = new Map<string, string>();
  try {
    const extract = tar.extract();
    const reading = pipeline(createReadStream(tarFile, { highWaterMark: 1024 * 1024 }), extract, { signal });
    reading.catch(() => undefined);
    for await (const entry of extract) {
      const header = entry.header as tar.Header & { byteOffset?: number };
      const path = normalize(header.name);
      if (header.type === 'symlink' || header.type === 'link') {
        links.set(path, normalize(header.type === 'symlink' ? posix.join(posix.dirname(path), header.linkname ?? '') : (header.linkname ?? '')));
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const hash = createHash('sha256');
      let head: Buffer | undefined;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        head ??= chunk;
        hash.update(chunk);
      }
      files.set(path, { path, offset: header.byteOffset ?? 0, size: header.size ?? 0, digest: `sha256:${hash.digest('hex')}` as Digest, gzip: head?.[0] === 0x1f && head[1] === 0x8b });
    }
    await reading;
    if (files.size === 0) throw new Error('no files in it');
  } catch (err) {
    if (temp) await rm(temp, { force: true });
    if (signal?.aborted) throw err;
    throw notImage(file, `it is not a tar archive (${(err as Error).message})`, err);
  }
  return {
    file: tarFile,
    files,
    links,
    find(path: string) {
      let current = normalize(path);
      for (let hops = 0; hops < 16; hops++) {
        const found = files.get(current);
        if (found) return found;
        const next = links.get(current);
        if (next === undefined) return undefined;
        current = next;
      }
      return undefined;
    },
    close: async () => {
      if (temp) await rm(temp, { force: true });
    },
  };
}

async function startsWithGzip(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw new ClientError('NOT_FOUND', `cannot open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function normalize(path: string): string {
  return posix.normalize(path).replace(/^(?:\.\/|\/)+/, '').replace(/\/+$/, '');
}

function notImage(file: string, why: string, cause: unknown): ClientError {
  return new ClientError('INVALID_IMAGE', `${file} is not an image tarball: ${why}`, {
    cause,
    hint: 'give a docker save tarball, an OCI archive or an OCI layout folder',
  });
}
