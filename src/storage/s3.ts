/**
 * The S3 driver (config `storage.s3`): every storage path is an object key under `rootdirectory` in
 * one bucket of AWS S3 or an S3-compatible store (MinIO, Ceph RGW, s3rver), after CNCF Distribution's
 * s3-aws driver. Folders are key prefixes: one exists while an object is under it.
 *
 * - Reads stream from GetObject, ranges as ranged GETs; writes of small objects are one PutObject
 *   (atomic); listings page through ListObjectsV2 with the `/` delimiter; deletes of a folder page
 *   through its keys and remove them with DeleteObjects, up to 1,000 a request.
 * - A chunked object (upload-session data, see StorageDriver.append) is one multipart upload per
 *   session plus a record object per append (s3-chunked.ts): parts grow with the upload so that none
 *   needs more than `maxParts` parts. Its commit completes the upload into `_objects/<uuid>` and makes
 *   the destination a POINTER: an empty object whose metadata (`wharf-object`, `wharf-size`) names that
 *   key and the size. So a commit never copies the bytes again, on AWS S3 (where CopyObject copies)
 *   as on RGW. Reads, stat, redirects, moves and deletes follow pointers; the driver resolves each
 *   pointer it met once (cached by key; a target gone since is resolved again).
 * - Small sessions (all under one part) are committed as one object: CopyObject of one record, else
 *   the records streamed into one multipart upload. Objects over 5 GiB that are moved are copied with
 *   UploadPartCopy; a store without it (s3rver) answers NotImplemented once, and this driver then
 *   streams those parts.
 * - Concurrent identical reads (stat, getContent, list of one path) share one request issued after
 *   each of them asked (fresh-reads.ts): never stale, so safe across replicas, and a hot tag, its tag
 *   list or a manifest's revision under load cost the store about one request per round trip.
 *   Concurrent writes of one path share one request too, the last caller's content winning (combined-writes.ts).
 * - Missing keys are PathNotFoundError; throttling, 5xx and network errors are retried by the SDK's
 *   standard retry strategy (exponential backoff), then surface as StorageUnavailableError (HTTP 503).
 */
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type AppendedState, type AppendOptions, type CommitOptions, type FileInfo, type ReadRange, type StorageDriver } from './driver.js';
import { InvalidOffsetError, PathNotFoundError } from './driver-errors.js';
import { S3_MAX_PARTS, S3_MIN_PART } from './multipart-plan.js';
import { OBJECTS, S3Bucket, type S3DriverOptions } from './s3-bucket.js';
import { ChunkedObjects } from './s3-chunked.js';
import { Concatenator } from './s3-concat.js';
import { CombinedWrites } from './combined-writes.js';
import { FreshReads } from './fresh-reads.js';
import { explainStartupError } from './s3-errors.js';
import { purgeOrphans } from './s3-orphans.js';
import { Pointers, type ByteRange } from './s3-pointers.js';
import { isChunkedObjectPart } from './s3-records.js';

export type { S3DriverOptions } from './s3-bucket.js';

/**
 * Listings of one folder in flight at once at most (fresh-reads.ts). One: under a load of one listing
 * (16 loops listing a folder of 200 keys on RGW, A B C rounds) 1 in flight gave 456-844 listings answered a
 * second at 0.03-0.05 CPU-ticks of RGW each, 4 in flight 337-565 at 0.06-0.09: each listing RGW serves is
 * shared by more callers, which matters more than the half listing a caller may wait (docs/s3.md).
 */
const LISTINGS_IN_FLIGHT = 1;

/** Byte-wise order, as S3 lists keys. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A {@link StorageDriver} over one S3 bucket. */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly client: S3Client;
  readonly #s3: S3Bucket;
  readonly #pointers: Pointers;
  readonly #redirectExpiry: number | undefined;
  readonly #endpoint: string | undefined;
  readonly #concat: Concatenator;
  readonly #chunked: ChunkedObjects;
  /** concurrent identical reads (stat, getContent, list of one path) share one request issued after each asked */
  readonly #stats = new FreshReads<FileInfo>();
  readonly #contents = new FreshReads<Buffer>();
  readonly #listings = new FreshReads<string[]>(LISTINGS_IN_FLIGHT);
  /** concurrent writes of one path share one request (the last content wins; see combined-writes.ts) */
  readonly #writes = new CombinedWrites<Buffer>();

  constructor(options: S3DriverOptions) {
    const s3 = (this.#s3 = new S3Bucket(this.name, options));
    this.client = s3.client;
    this.#pointers = new Pointers(s3);
    s3.onDelete = (key) => this.#pointers.forget(key);
    this.#redirectExpiry = options.redirectExpiry;
    this.#endpoint = options.endpoint;
    const chunkSize = Math.max(options.chunkSize, S3_MIN_PART);
    const get = (path: string, key: string, range?: ByteRange): Promise<Readable> => this.#pointers.get(path, key, range);
    this.#concat = new Concatenator({
      bucket: s3.bucket,
      client: s3.client,
      streamClient: s3.streamClient,
      maxAttempts: s3.maxAttempts,
      partSize: chunkSize,
      get,
      translate: (err, path) => s3.translate(err, path),
    });
    this.#chunked = new ChunkedObjects(
      {
        name: this.name,
        client: s3.client,
        streamClient: s3.streamClient,
        bucket: s3.bucket,
        objectsPrefix: `${s3.prefix}${OBJECTS}/`,
        folder: (path) => s3.folder(path),
        keys: (path, prefix) => s3.keys(path, prefix),
        deleteKeys: (path, objects) => s3.deleteKeys(path, objects),
        get,
        send: (path, request) => s3.send(path, request),
        concatenate: (path, sources, dest) => this.writeSmall(path, sources, dest),
        putPointer: (_path, dest, target, size) => this.#pointers.put(dest, target, size),
        exists: async (dest) => (await this.#pointers.head(dest)) !== undefined,
      },
      chunkSize,
      options.maxParts ?? S3_MAX_PARTS,
    );
  }

  /** The SDK clients this driver sends with (the retrying one and the one for streamed bodies), e.g. to count requests. */
  clients(): S3Client[] {
    return [this.#s3.client, this.#s3.streamClient];
  }

  /** Calls `listener` with the method and key of every small request sent without the SDK (s3-small.ts). */
  observeSmallRequests(listener: (method: string, key: string) => void): void {
    if (this.#s3.small) this.#s3.small.onRequest = listener;
  }

  async stat(path: string): Promise<FileInfo> {
    return { ...(await this.#stats.read(path, () => this.statOnce(path))) };
  }

  private async statOnce(path: string): Promise<FileInfo> {
    const object = await this.#pointers.head(path);
    if (object) return { path, size: object.size, modTime: object.modTime, isDir: false };
    const first = await this.#s3.firstObject(path, this.#s3.folder(path));
    if (!first) throw new PathNotFoundError(path, this.name);
    return { path, size: 0, modTime: first.LastModified ?? new Date(0), isDir: true };
  }

  async getContent(path: string): Promise<Buffer> {
    return this.#contents.read(path, () => this.#pointers.content(path));
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    return this.#writes.write(path, Buffer.from(content), (body) => this.#s3.putObject(path, body));
  }

  async reader(path: string, range: ReadRange = { offset: 0 }): Promise<Readable> {
    const key = this.#s3.key(path);
    const { offset, length } = range;
    if (offset === 0 && length === undefined) return this.#pointers.get(path, key);
    // A range: the size first, since stores differ on ranges that reach past the end.
    const object = await this.#pointers.head(path);
    if (!object) throw new PathNotFoundError(path, this.name);
    if (offset > object.size) throw new InvalidOffsetError(path, offset, this.name);
    const end = Math.min(object.size, length === undefined ? object.size : offset + length);
    if (end <= offset) return Readable.from([]);
    return this.#pointers.read(path, object.target ?? key, { start: offset, end: end - 1 }, object.size);
  }

  async list(path: string): Promise<string[]> {
    return (await this.#listings.read(path, () => this.listOnce(path))).slice();
  }

  private async listOnce(path: string): Promise<string[]> {
    const prefix = this.#s3.folder(path);
    const names = new Set<string>();
    for await (const page of this.#s3.pages(path, prefix, '/')) {
      for (const p of page.CommonPrefixes ?? []) names.add(p.Prefix!.slice(prefix.length, -1));
      for (const o of page.Contents ?? []) names.add(o.Key!.slice(prefix.length));
    }
    names.delete('');
    if (path === '/') names.delete(OBJECTS); // the driver's own: the bytes pointers name
    return [...names].sort(byteOrder);
  }

  async delete(path: string): Promise<void> {
    if (path !== '/') {
      const target = (await this.#pointers.head(path))?.target;
      await this.deleteObject(path);
      if (target !== undefined) await this.#s3.deleteKeys(path, [{ Key: target }]);
    }
    await this.deleteFolder(path);
  }

  private async deleteObject(path: string): Promise<void> {
    const s3 = this.#s3;
    await s3.send(path, () => s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: s3.key(path) })));
    this.#pointers.forget(s3.key(path));
  }

  /**
   * Deletes every object under folder `path`, one page (up to 1,000 keys) per DeleteObjects request,
   * with the objects its pointers name (pointers are empty objects: each empty one is asked) and the
   * multipart uploads of its chunked objects.
   */
  private async deleteFolder(path: string): Promise<void> {
    const s3 = this.#s3;
    for await (const page of s3.pages(path, s3.folder(path))) {
      const objects = page.Contents ?? [];
      await this.#chunked.abandon(path, objects);
      const targets: { Key: string }[] = [];
      for (const o of objects) {
        if ((o.Size ?? 0) > 0 || o.Key === s3.prefix || isChunkedObjectPart(o.Key!.slice(o.Key!.lastIndexOf('/') + 1))) continue;
        const target = await this.#pointers.targetOf(o.Key!);
        if (target !== undefined) targets.push({ Key: target });
      }
      await s3.deleteKeys(path, [...objects, ...targets]);
    }
  }

  async move(source: string, dest: string): Promise<void> {
    const s3 = this.#s3;
    const object = await this.#pointers.head(source);
    const to = s3.key(dest);
    if (object) {
      if (source === dest) return;
      await this.deleteFolder(dest); // a folder in the way
      await this.#concat.copy(source, s3.key(source), object.target ? 0 : object.size, to); // a pointer is copied as it is
      await this.deleteObject(source);
      return;
    }
    const from = s3.folder(source);
    let found = false;
    for await (const page of s3.pages(source, from)) {
      const objects = page.Contents ?? [];
      if (!found) {
        if (objects.length === 0) break;
        found = true;
        if (source === dest) return;
        await this.delete(dest); // whatever is there, an object or a folder
      }
      for (const o of objects) await this.#concat.copy(source, o.Key!, o.Size ?? 0, `${to}/${o.Key!.slice(from.length)}`);
      await s3.deleteKeys(source, objects);
    }
    if (!found) throw new PathNotFoundError(source, this.name);
  }

  // --- chunked objects (s3-chunked.ts) --------------------------------------------------------

  async appendedState(path: string): Promise<AppendedState> {
    return this.#chunked.state(path);
  }

  async append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    return this.#chunked.append(path, source, options);
  }

  async appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return this.#chunked.reader(path, state);
  }

  async commitAppended(path: string, dest: string, state: AppendedState, options?: CommitOptions): Promise<void> {
    this.#s3.key(dest);
    await this.#chunked.commit(path, dest, state, options);
    await this.deleteFolder(path);
  }

  /** Writes the whole objects `sources` (small: under one part together) as object `dest`. */
  private async writeSmall(path: string, sources: readonly { key: string; size: number }[], dest: string): Promise<void> {
    if (sources.length === 0) await this.putContent(dest, Buffer.alloc(0));
    else if (sources.length === 1) await this.#concat.copy(path, sources[0]!.key, sources[0]!.size, this.#s3.key(dest));
    else await this.#concat.concatenate(path, sources, this.#s3.key(dest));
  }

  /**
   * Deletes the `_objects/` objects no pointer names and the multipart uploads no session names, older
   * than `olderThan` (interrupted commits; see s3-orphans.ts).
   */
  async purgeTemporaries(olderThan: Date, options: { dryRun: boolean }): Promise<{ count: number; bytes: number }> {
    return purgeOrphans(this.#s3, this.#pointers, olderThan, options.dryRun);
  }

  // --- redirects and start-up ---------------------------------------------------------------

  /** A presigned GET URL valid for the configured expiry, or undefined when redirects are off. */
  async redirectURL(path: string): Promise<string | undefined> {
    if (this.#redirectExpiry === undefined) return undefined;
    const Key = await this.#pointers.bytesKey(path);
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.#s3.bucket, Key }), { expiresIn: this.#redirectExpiry });
  }

  /**
   * Checks that the bucket exists and the credentials may use it (HeadBucket).
   * @throws StorageConfigError naming the key at fault: bucket, accesskey/secretkey, endpoint or region
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.#s3.bucket }));
    } catch (err) {
      throw explainStartupError(err, this.#s3.bucket, this.#endpoint);
    }
  }
}
