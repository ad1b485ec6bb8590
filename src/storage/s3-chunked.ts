/**
 * Chunked objects (upload-session data, see StorageDriver.append) on S3: ONE multipart upload per
 * session, so that the commit completes the upload instead of copying the bytes again.
 *
 * A chunked object at `path` is a folder of immutable record objects, one per append,
 * `<start, 16 digits>-<end, 16 digits>-<uuid>[-<upload tag>-<first part>-<last part>-<etag sum>]`, and
 * one `upload-<tag>` object per multipart upload (its key and UploadId as JSON). An append streams its
 * bytes into parts of the session's multipart upload (their size from {@link partSizeAt}, so no upload
 * needs more than `maxParts` parts), with the bytes that were left over from earlier appends (fewer than
 * a part) in front of its first part; what is left over at its end, under a part, is the record's own
 * body (its tail). A record names its parts and a hash of their ETags: the chain of records from offset
 * 0 (each starting where the previous ended, one per offset) is the object; concurrent appends at one
 * offset are told apart as before (list after write: at most one record per offset stays), and a part
 * that a losing append overwrote is caught at commit by its ETag.
 *
 * Bytes sent into parts cannot be read before the upload completes (S3 has no read of an unfinished
 * part): {@link ChunkedObjects.reader} reads tails only, else throws AppendedUnreadableError, and the
 * caller verifies at commit instead. The commit uploads the tails as the last part, completes the upload
 * into `_objects/<uuid>` (invisible to the registry), lets the caller verify those bytes when asked,
 * and makes `dest` a pointer to it (an empty object whose metadata names the key and size; see s3.ts).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { CompleteMultipartUploadCommand, PutObjectCommand, type _Object, type S3Client } from '@aws-sdk/client-s3';
import { type AppendedState, type AppendOptions, type CommitOptions } from './driver.js';
import { AppendedUnreadableError, InvalidOffsetError } from './driver-errors.js';
import { partSizeAt, type Piece } from './multipart-plan.js';
import { freeBuffer } from './free-buffer.js';
import { PartWriter, type Recordable } from './s3-part-writer.js';
import { chainOf, hash8, pad, parseRecord, positionOf, uploadTag, type Record } from './s3-records.js';
import { SessionUploads, type Upload } from './s3-uploads.js';

export type { Upload } from './s3-uploads.js';

/** What the chunked objects need of the S3 driver. */
export interface S3Access {
  readonly name: string;
  readonly client: S3Client;
  /** the client without SDK retries, for streamed bodies */
  readonly streamClient: S3Client;
  readonly bucket: string;
  /** the key prefix of the driver's own objects (pointer targets), ending with `/` */
  readonly objectsPrefix: string;
  folder(path: string): string;
  keys(path: string, prefix: string): AsyncGenerator<_Object>;
  deleteKeys(path: string, objects: readonly { Key?: string }[]): Promise<void>;
  get(path: string, key: string, range?: { start: number; end: number }): Promise<Readable>;
  send<T>(path: string, request: () => Promise<T>): Promise<T>;
  /** writes the concatenation of the whole objects `sources` (together under one part) as object `dest` */
  concatenate(path: string, sources: readonly { key: string; size: number }[], dest: string): Promise<void>;
  /** makes `dest` a pointer to object `target` of `size` bytes */
  putPointer(path: string, dest: string, target: string, size: number): Promise<void>;
  exists(dest: string): Promise<boolean>;
}

/** A session's folder as listed: its chain of records and its uploads by tag. */
interface Listing {
  chain: Record[];
  uploads: Map<string, string>;
}

/** The chunked objects of one S3 driver. */
export class ChunkedObjects {
  readonly #uploads: SessionUploads;

  constructor(
    private readonly s3: S3Access,
    private readonly chunkSize: number,
    private readonly maxParts: number,
  ) {
    this.#uploads = new SessionUploads(s3, maxParts);
  }

  private async list(path: string, offset?: number): Promise<Listing & { all: Record[] }> {
    const folder = this.s3.folder(path);
    const records: Record[] = [];
    const uploads = new Map<string, string>();
    for await (const o of this.s3.keys(path, offset === undefined ? folder : folder + pad(offset))) {
      const name = o.Key!.slice(folder.length);
      const record = parseRecord(name, o.Size ?? 0);
      if (record) records.push(record);
      const tag = uploadTag(name);
      if (tag !== undefined) uploads.set(tag, o.Key!);
    }
    return { chain: chainOf(records), uploads, all: records };
  }

  /** The state of the chunked object at `path`: its size, and its chain as the token. */
  async state(path: string): Promise<AppendedState> {
    const { chain } = await this.list(path);
    return { size: chain.at(-1)?.end ?? 0, token: JSON.stringify(chain.map((r) => r.name)) };
  }

  /** The bytes of `pieces` (ranges of record bodies in folder `path`), in order. */
  private async *pieces(path: string, pieces: readonly Piece[]): AsyncGenerator<Buffer> {
    const folder = this.s3.folder(path);
    for (const p of pieces) for await (const chunk of await this.s3.get(path, folder + p.key, p)) yield chunk as Buffer;
  }

  private async collect(path: string, pieces: readonly Piece[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const chunk of this.pieces(path, pieces)) out.push(chunk);
    return out;
  }

  /** See StorageDriver.append. */
  async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    const { offset, signal } = options;
    signal?.throwIfAborted();
    const listing = await this.list(path);
    const at = positionOf(listing.chain);
    if (at.size !== offset) throw new InvalidOffsetError(path, offset, this.s3.name);
    const writer = new PartWriter(this, path, at, signal);
    if (at.tag) writer.useUpload(await this.#uploads.get(path, at.tag, listing.uploads));
    let failure: unknown;
    const onAbort = (): void => void source.destroy(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const chunk of source) {
        await writer.write(chunk as Buffer);
        // copied into the part's slabs: freed now, not at V8's next collection (a chunk that waited while a part uploaded is in the old generation)
        if (options.ownChunks) freeBuffer(chunk as Buffer);
      }
      await writer.end();
    } catch (err) {
      failure = signal?.aborted ? signal.reason : err;
      source.destroy();
      await writer.settle();
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    const written = writer.recordable(failure !== undefined);
    try {
      if (written.end > offset) await this.record(path, offset, written);
    } finally {
      writer.release();
    }
    if (failure !== undefined) throw failure;
    return Math.max(0, written.end - offset);
  }

  /** Stores the record of an append and keeps it only when no other append took its offset meanwhile. */
  private async record(path: string, offset: number, w: Recordable): Promise<void> {
    const parts = w.parts.length > 0 ? `-${w.tag}-${w.parts[0]!.number}-${w.parts.at(-1)!.number}-${hash8(w.parts.map((p) => p.etag).join(','))}` : '';
    const name = `${pad(offset)}-${pad(w.end)}-${randomUUID()}${parts}`;
    const Key = this.s3.folder(path) + name;
    const body = Buffer.concat(w.tail);
    await this.s3.send(path, () => this.s3.client.send(new PutObjectCommand({ Bucket: this.s3.bucket, Key, Body: body })));
    freeBuffer(body);
    const rivals = (await this.list(path, offset)).all.filter((r) => r.start === offset && r.name !== name);
    if (rivals.length > 0) {
      await this.s3.deleteKeys(path, [{ Key }]);
      throw new InvalidOffsetError(path, offset, this.s3.name);
    }
  }

  /** A new upload for the session at `path`. */
  newUpload(path: string): Promise<Upload> {
    return this.#uploads.create(path);
  }

  /** Uploads part `number` of `upload` (see SessionUploads.uploadPart). @returns its ETag */
  uploadPart(path: string, upload: Upload, number: number, body: Buffer[], signal?: AbortSignal): Promise<string> {
    return this.#uploads.uploadPart(path, upload, number, body, signal);
  }

  /** Aborts the multipart uploads whose `upload-<tag>` objects are among `objects` (a folder being deleted). */
  abandon(path: string, objects: readonly _Object[]): Promise<void> {
    return this.#uploads.abandon(path, objects);
  }

  /** The tails `pieces` of folder `path`, read whole (fewer bytes than a part). */
  readPending(path: string, pieces: readonly Piece[]): Promise<Buffer[]> {
    return this.collect(path, pieces);
  }

  /** The size in bytes of the part starting at byte `start`. */
  partSize(start: number): number {
    return partSizeAt(start, this.chunkSize, this.maxParts);
  }

  /**
   * The bytes `state` names. @throws AppendedUnreadableError when some are in parts of an unfinished upload
   */
  async reader(path: string, state: AppendedState): Promise<Readable> {
    const { chain } = await this.list(path);
    if (JSON.stringify(chain.map((r) => r.name)) !== state.token) throw new InvalidOffsetError(path, state.size, this.s3.name);
    const at = positionOf(chain);
    if (at.partsEnd > 0) throw new AppendedUnreadableError(path, this.s3.name);
    return Readable.from(this.pieces(path, at.pending));
  }

  /** See StorageDriver.commitAppended. */
  async commit(path: string, dest: string, state: AppendedState, options: CommitOptions = {}): Promise<void> {
    const listing = await this.list(path);
    if (JSON.stringify(listing.chain.map((r) => r.name)) !== state.token) throw new InvalidOffsetError(path, state.size, this.s3.name);
    const at = positionOf(listing.chain);
    const folder = this.s3.folder(path);
    if (!at.tag) {
      // everything is in tails (under one part): one small object
      if (options.verify) await options.verify(Readable.from(this.pieces(path, at.pending)));
      await this.s3.concatenate(path, at.pending.map((p) => ({ key: folder + p.key, size: p.end + 1 })), dest);
      return;
    }
    const upload = await this.#uploads.get(path, at.tag, listing.uploads);
    const etags = await this.#uploads.partEtags(path, upload);
    for (const r of listing.chain) {
      if (r.parts?.tag !== upload.tag) continue;
      const mine = [];
      for (let n = r.parts.first; n <= r.parts.last; n++) mine.push(etags.get(n));
      if (hash8(mine.join(',')) !== r.parts.etags) throw new InvalidOffsetError(path, r.start, this.s3.name); // overwritten by a losing append
    }
    const parts = Array.from({ length: at.nextPart - 1 }, (_, i) => ({ PartNumber: i + 1, ETag: etags.get(i + 1) }));
    if (at.pending.length > 0) {
      const ETag = await this.uploadPart(path, upload, at.nextPart, await this.collect(path, at.pending));
      parts.push({ PartNumber: at.nextPart, ETag });
    }
    await this.s3.send(path, () =>
      this.s3.client.send(new CompleteMultipartUploadCommand({ Bucket: this.s3.bucket, Key: upload.key, UploadId: upload.uploadId, MultipartUpload: { Parts: parts } })),
    );
    this.#uploads.forget(path, upload);
    try {
      if (options.verify) await options.verify(await this.s3.get(path, upload.key));
      if (options.verify && (await this.s3.exists(dest))) throw new KeptExisting();
      await this.s3.putPointer(path, dest, upload.key, at.size);
    } catch (err) {
      await this.s3.deleteKeys(path, [{ Key: upload.key }]);
      if (!(err instanceof KeptExisting)) throw err;
    }
  }

}

/** The dest already held the verified bytes: the completed copy is dropped. */
class KeptExisting extends Error {}

