/**
 * `wharf blob get REPO@DIGEST [-o FILE]` streams a blob, verified, to FILE (written under a temporary
 * name, renamed when its digest checks out) or stdout; `wharf blob put REPO FILE` uploads a file as a
 * blob (resumable) and prints its digest.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { fetchBlob, rangeStream } from '../client/blob-download.js';
import { uploadBlob } from '../client/blob-upload.js';
import { writeBlobFile } from '../client/image/blob-file.js';
import { fileRange } from '../client/image/layout.js';
import type { Digest } from '../oci/digest.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';

/** Options of `wharf blob get`. */
export interface BlobGetOptions extends ClientOptions {
  output?: string;
}

/** Downloads REPO@DIGEST. @throws CommandFailure */
export async function blobGet(reference: string, options: BlobGetOptions): Promise<void> {
  const at = location(reference);
  if (at.kind !== 'registry' || !at.ref.digest) throw new CommandFailure(`give the blob as REPO@DIGEST, not ${reference}`);
  const digest = at.ref.digest;
  await runClientCommand(options, [at.ref.registry], async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: at.ref.repository, reference: digest });
    const size = await client.headBlob(at.ref, digest, { signal });
    if (size === undefined) throw new CommandFailure(`blob unknown: ${at.ref.repository} has no blob ${digest}`);
    const desc = { mediaType: 'application/octet-stream', digest, size };
    if (options.output) {
      await writeBlobFile(options.output, desc, async (offset, length) => rangeStream(client, at.ref, desc, offset, length, { signal }), { signal, parallelThreshold: client.parallelThreshold, parts: client.parallelParts });
      reporter.done(`wrote ${digest} (${size} bytes) to ${options.output}`, { digest, size, output: options.output });
    } else await pipeline(fetchBlob(client, at.ref, desc, { signal }), process.stdout);
  });
}

/** Uploads FILE as a blob of REPO. @throws CommandFailure */
export async function blobPut(repository: string, file: string, options: ClientOptions): Promise<void> {
  const at = location(repository);
  if (at.kind !== 'registry') throw new CommandFailure(`REPO must be a repository (host/name), not ${repository}`);
  const info = await stat(file).catch(() => undefined);
  if (!info) throw new CommandFailure(`${file}: no such file`);
  // read twice (its digest first, then the upload, resumable by range): a pipe or device cannot be
  if (!info.isFile()) throw new CommandFailure(`${file}: not a regular file; save the bytes to a file first and give that file`);
  await runClientCommand(options, [at.ref.registry], async ({ client, reporter, signal, context }) => {
    context.repository = at.ref.repository;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    const digest = `sha256:${hash.digest('hex')}` as Digest;
    const desc = { mediaType: 'application/octet-stream', digest, size: info.size };
    const result = await uploadBlob(client, at.ref, desc, async (offset, length) => fileRange(file, offset, length), { signal });
    reporter.print(digest, { repository: `${at.ref.registry}/${at.ref.repository}`, digest, size: info.size, result });
  });
}
