/**
 * Writes one blob to a file, verified: small blobs as one stream hashed on the way; blobs from
 * `parallelThreshold` bytes as ranges of `partSize` pulled by `parts` workers into their places in
 * the file, then hashed in one pass (a hash cannot be computed out of order). The file is written
 * under a temporary name and renamed into place only after its digest and size check out.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open as openFile, rename, rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../../oci/manifest.js';
import type { BlobOpener } from '../blob-upload.js';
import { Verifier } from '../streams.js';

/** Options of {@link writeBlobFile}. */
export interface BlobFileOptions {
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
  /** from this size (bytes) the blob is pulled in parallel ranges (default 64 MiB; Infinity: never) */
  parallelThreshold?: number;
  /** ranges in flight (default 4) */
  parts?: number;
  /** bytes per range (default 16 MiB) */
  partSize?: number;
}

/**
 * Writes blob `desc` from `open` to `path`.
 * @throws ClientError DIGEST_MISMATCH | SIZE_MISMATCH (nothing is left at `path`), or the source's error
 */
export async function writeBlobFile(path: string, desc: Descriptor, open: BlobOpener, o: BlobFileOptions = {}): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.partial`;
  const what = `blob ${desc.digest}`;
  try {
    const parts = o.parts ?? 4;
    if (desc.size >= (o.parallelThreshold ?? 64 * 1024 * 1024) && parts > 1) {
      await writeRanges(temp, desc, open, parts, o.partSize ?? 16 * 1024 * 1024, o);
      const verifier = new Verifier(desc.digest, desc.size, what);
      for await (const chunk of createReadStream(temp, { highWaterMark: 1024 * 1024 })) verifier.update(chunk as Buffer);
      verifier.finish();
    } else {
      const verifier = new Verifier(desc.digest, desc.size, what);
      let done = 0;
      const check = new Transform({
        transform(chunk: Buffer, _e, cb) {
          try {
            verifier.update(chunk);
          } catch (err) {
            return cb(err as Error);
          }
          done += chunk.length;
          o.onProgress?.(done);
          cb(null, chunk);
        },
        flush(cb) {
          try {
            verifier.finish();
            cb();
          } catch (err) {
            cb(err as Error);
          }
        },
      });
      await pipeline(await open(0, desc.size, o.signal), check, createWriteStream(temp), { signal: o.signal });
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

async function writeRanges(temp: string, desc: Descriptor, open: BlobOpener, parts: number, partSize: number, o: BlobFileOptions): Promise<void> {
  const handle = await openFile(temp, 'w');
  await handle.truncate(desc.size);
  await handle.close();
  let next = 0;
  let done = 0;
  const controller = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, controller.signal]) : controller.signal;
  const worker = async (): Promise<void> => {
    while (next < desc.size) {
      const start = next;
      const length = Math.min(partSize, desc.size - start);
      next += length;
      const counter = new Transform({
        transform(chunk: Buffer, _e, cb) {
          done += chunk.length;
          o.onProgress?.(done);
          cb(null, chunk);
        },
      });
      const source = await open(start, length, signal);
      const sink = createWriteStream(temp, { flags: 'r+', start });
      await (o.onProgress ? pipeline(source, counter, sink, { signal }) : pipeline(source, sink, { signal }));
    }
  };
  const workers = Array.from({ length: Math.min(parts, Math.ceil(desc.size / partSize)) }, worker);
  try {
    await Promise.all(workers);
  } catch (err) {
    controller.abort(err);
    await Promise.allSettled(workers);
    throw err;
  }
}
