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
 * - Missing keys are PathNotFoundError; throttling, 5xx and network errors are retried by the SDK's
 *   standard retry strategy (exponential backoff), then surface as StorageUnavailableError (HTTP 503).
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { LRUCache } from 'lru-cache';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type _Object,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  type AppendedState,
  type AppendOptions,
  type CommitOptions,
  type FileInfo,
  type ReadRange,
  type StorageDriver,
} from './driver.js';
import { S3_MAX_PART, S3_MAX_PARTS, S3_MIN_PART } from './multipart-plan.js';
import { ChunkedObjects, isChunkedObjectPart } from './s3-chunked.js';
import { Concatenator } from './s3-concat.js';
import { explainStartupError, translateS3Error } from './s3-errors.js';

/** How {@link S3Driver} reaches its bucket. */
export interface S3DriverOptions {
  bucket: string;
  region: string;
  /** an S3-compatible endpoint URL; AWS's endpoint for `region` when absent */
  endpoint?: string;
  /** address the bucket as `endpoint/bucket` (MinIO, s3rver) instead of `bucket.endpoint` */
  forcePathStyle: boolean;
  /** static credentials; the AWS default chain (environment, shared files, instance role) when absent */
  accessKey?: string;
  secretKey?: string;
  /** a key prefix for every object, e.g. `registry` (no leading or trailing `/` needed) */
  rootDirectory: string;
  /** bytes per part of multipart writes, at least 5 MiB */
  chunkSize: number;
  /** seconds a presigned blob URL stays valid; undefined: no redirects */
  redirectExpiry?: number;
  /** keys per ListObjectsV2 page, 1-1000 (default 1000; tests force small pages) */
  listPageSize?: number;
  /** attempts per request, the first included (SDK standard retries with backoff; default 5) */
  maxAttempts?: number;
  /** the store's limit of parts per multipart upload (S3: 10,000, the default; tests lower it) */
  maxParts?: number;
}

/** The metadata of a pointer object (see {@link S3Driver}): the key holding the bytes, and their size. */
const POINTER_KEY = 'wharf-object';
const POINTER_SIZE = 'wharf-size';
/** The folder, under the root directory, of the objects that pointers name. */
const OBJECTS = '_objects';
/** How many pointers a driver remembers (about 200 bytes each). */
const POINTERS_KEPT = 50_000;

/** What HEAD tells of an object: its size and time, and for a pointer the key of the bytes. */
interface Head {
  size: number;
  modTime: Date;
  target?: string;
}

/** Byte-wise order, as S3 lists keys. */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Passes the first `left` bytes, then ends and releases the source; fails when the source ends before. */
class Limit extends Transform {
  constructor(
    private left: number,
    private readonly source: Readable,
  ) {
    super();
    source.once('error', (err) => this.destroy(err));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.left <= 0) return cb();
    const part = chunk.length > this.left ? chunk.subarray(0, this.left) : chunk;
    this.left -= part.length;
    this.push(part);
    if (this.left === 0) {
      this.push(null);
      this.source.unpipe(this);
      this.source.destroy();
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    cb(this.left > 0 ? new Error(`the S3 store ended a ranged GET ${this.left} bytes short`) : null);
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    this.source.destroy();
    cb(err);
  }
}

/** A {@link StorageDriver} over one S3 bucket. */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly client: S3Client;
  /** the same without SDK retries, for requests whose body is a stream (retried by s3-concat.ts) */
  private readonly streamClient: S3Client;
  readonly #maxAttempts: number;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #chunkSize: number;
  readonly #pageSize: number;
  readonly #redirectExpiry: number | undefined;
  readonly #endpoint: string | undefined;
  readonly #concat: Concatenator;
  readonly #chunked: ChunkedObjects;
  /** pointer keys met, with the key of their bytes (immutable once written; checked again when gone) */
  readonly #pointers = new LRUCache<string, string>({ max: POINTERS_KEPT });

  constructor(options: S3DriverOptions) {
    this.#bucket = options.bucket;
    const root = options.rootDirectory.replace(/^\/+|\/+$/g, '');
    this.#prefix = root ? `${root}/` : '';
    this.#chunkSize = Math.max(options.chunkSize, S3_MIN_PART);
    this.#pageSize = options.listPageSize ?? 1000;
    this.#redirectExpiry = options.redirectExpiry;
    this.#endpoint = options.endpoint;
    this.#maxAttempts = options.maxAttempts ?? 5;
    const config: S3ClientConfig = {
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKey && options.secretKey ? { accessKeyId: options.accessKey, secretAccessKey: options.secretKey } : undefined,
      maxAttempts: this.#maxAttempts,
      retryMode: 'standard',
      // S3-compatible stores do not all accept the streamed checksum trailers newer SDKs send by default
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
    };
    this.client = new S3Client(config);
    this.streamClient = new S3Client({ ...config, maxAttempts: 1 });
    this.#concat = new Concatenator({
      bucket: this.#bucket,
      client: this.client,
      streamClient: this.streamClient,
      maxAttempts: this.#maxAttempts,
      partSize: this.#chunkSize,
      get: (path, key, range) => this.get(path, key, range),
      translate: (err, path) => this.translate(err, path),
    });
    this.#chunked = new ChunkedObjects(
      {
        name: this.name,
        client: this.client,
        streamClient: this.streamClient,
        bucket: this.#bucket,
        objectsPrefix: `${this.#prefix}${OBJECTS}/`,
        folder: (path) => this.folder(path),
        keys: (path, prefix) => this.keys(path, prefix),
        deleteKeys: (path, objects) => this.deleteKeys(path, objects),
        get: (path, key, range) => this.get(path, key, range),
        send: (path, request) => this.send(path, request),
        concatenate: (path, sources, dest) => this.writeSmall(path, sources, dest),
        putPointer: (path, dest, target, size) => this.putPointer(dest, target, size),
        exists: async (dest) => (await this.head(dest)) !== undefined,
      },
      this.#chunkSize,
      options.maxParts ?? S3_MAX_PARTS,
    );
  }

  /** The SDK clients this driver sends with (the retrying one and the one for streamed bodies), e.g. to count requests. */
  clients(): S3Client[] {
    return [this.client, this.streamClient];
  }

  private key(path: string): string {
    checkPath(path, this.name);
    return path === '/' ? this.#prefix : this.#prefix + path.slice(1);
  }

  /** The key prefix of the objects inside folder `path`. */
  private folder(path: string): string {
    return path === '/' ? this.#prefix : `${this.key(path)}/`;
  }

  /** Maps an SDK error (see s3-errors.ts). */
  private translate(err: unknown, path: string): unknown {
    return translateS3Error(err, path, this.name);
  }

  private async send<T>(path: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.translate(err, path);
    }
  }

  /** The pages of keys under `prefix`; with `delimiter`, sub-folders come as common prefixes. */
  private async *pages(path: string, prefix: string, delimiter?: string): AsyncGenerator<ListObjectsV2CommandOutput> {
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.#pageSize },
      { Bucket: this.#bucket, Prefix: prefix, Delimiter: delimiter },
    );
    try {
      for await (const page of pages) yield page;
    } catch (err) {
      throw this.translate(err, path);
    }
  }

  /** The objects under `prefix`, page by page. */
  private async *keys(path: string, prefix: string): AsyncGenerator<_Object> {
    for await (const page of this.pages(path, prefix)) yield* page.Contents ?? [];
  }

  private async head(path: string): Promise<Head | undefined> {
    if (path === '/') return undefined;
    const key = this.key(path);
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      const target = h.Metadata?.[POINTER_KEY];
      if (target === undefined) return { size: h.ContentLength ?? 0, modTime: h.LastModified ?? new Date(0) };
      this.#pointers.set(key, target);
      return { size: Number(h.Metadata?.[POINTER_SIZE] ?? 0), modTime: h.LastModified ?? new Date(0), target };
    } catch (err) {
      const e = this.translate(err, path);
      if (e instanceof PathNotFoundError) return undefined;
      throw e;
    }
  }

  async stat(path: string): Promise<FileInfo> {
    const object = await this.head(path);
    if (object) return { path, size: object.size, modTime: object.modTime, isDir: false };
    const page = await this.send(path, () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.folder(path), MaxKeys: 1 })),
    );
    const first = page.Contents?.[0];
    if (!first) throw new PathNotFoundError(path, this.name);
    return { path, size: 0, modTime: first.LastModified ?? new Date(0), isDir: true };
  }

  async getContent(path: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(path, this.key(path))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    const Body = Buffer.from(content);
    await this.send(path, () => this.client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.key(path), Body })));
  }

  async reader(path: string, range: ReadRange = { offset: 0 }): Promise<Readable> {
    const key = this.key(path);
    const { offset, length } = range;
    if (offset === 0 && length === undefined) return this.get(path, key);
    // A range: the size first, since stores differ on ranges that reach past the end.
    const object = await this.head(path);
    if (!object) throw new PathNotFoundError(path, this.name);
    if (offset > object.size) throw new InvalidOffsetError(path, offset, this.name);
    const end = Math.min(object.size, length === undefined ? object.size : offset + length);
    if (end <= offset) return Readable.from([]);
    return this.get(path, object.target ?? key, { start: offset, end: end - 1 });
  }

  /**
   * GetObject's body stream of `key` (of the object a pointer names, when `key` is one), of bytes
   * `[range.start, range.end]` when given; cut at the range's length, since some stores answer a range
   * of `0-0` with the whole object.
   */
  private async get(path: string, key: string, range?: { start: number; end: number }): Promise<Readable> {
    const read = (k: string) =>
      this.send(path, () => this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: k, Range: range && `bytes=${range.start}-${range.end}` })));
    const known = this.#pointers.get(key);
    let out = await (known ? read(known).catch((err: unknown) => (err instanceof PathNotFoundError ? read(key) : Promise.reject(err))) : read(key));
    const target = out.Metadata?.[POINTER_KEY];
    if (target !== undefined) {
      (out.Body as Readable).resume();
      this.#pointers.set(key, target);
      out = await read(target);
    }
    const body = out.Body as Readable;
    return range ? body.pipe(new Limit(range.end - range.start + 1, body)) : body;
  }

  /** Makes `dest` a pointer to the object `target` of `size` bytes. */
  private async putPointer(dest: string, target: string, size: number): Promise<void> {
    const Key = this.key(dest);
    const Metadata = { [POINTER_KEY]: target, [POINTER_SIZE]: String(size) };
    await this.send(dest, () => this.client.send(new PutObjectCommand({ Bucket: this.#bucket, Key, Body: Buffer.alloc(0), Metadata })));
    this.#pointers.set(Key, target);
  }

  async list(path: string): Promise<string[]> {
    const prefix = this.folder(path);
    const names = new Set<string>();
    for await (const page of this.pages(path, prefix, '/')) {
      for (const p of page.CommonPrefixes ?? []) names.add(p.Prefix!.slice(prefix.length, -1));
      for (const o of page.Contents ?? []) names.add(o.Key!.slice(prefix.length));
    }
    names.delete('');
    if (path === '/') names.delete(OBJECTS); // the driver's own: the bytes pointers name
    return [...names].sort(byteOrder);
  }

  async delete(path: string): Promise<void> {
    if (path !== '/') {
      const target = (await this.head(path))?.target;
      await this.send(path, () => this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.key(path) })));
      if (target !== undefined) await this.deleteKeys(path, [{ Key: target }]);
    }
    await this.deleteFolder(path);
  }

  /**
   * Deletes every object under folder `path`, one page (up to 1,000 keys) per DeleteObjects request,
   * with the objects its pointers name (pointers are empty objects: each empty one is asked) and the
   * multipart uploads of its chunked objects.
   */
  private async deleteFolder(path: string): Promise<void> {
    for await (const page of this.pages(path, this.folder(path))) {
      const objects = page.Contents ?? [];
      await this.#chunked.abandon(path, objects);
      const targets: { Key: string }[] = [];
      for (const o of objects) {
        if ((o.Size ?? 0) > 0 || o.Key === this.#prefix || isChunkedObjectPart(o.Key!.slice(o.Key!.lastIndexOf('/') + 1))) continue;
        const h = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: o.Key! })).catch(() => undefined);
        const target = h?.Metadata?.[POINTER_KEY];
        if (target !== undefined) targets.push({ Key: target });
      }
      await this.deleteKeys(path, [...objects, ...targets]);
    }
  }

  private async deleteKeys(path: string, objects: readonly { Key?: string }[]): Promise<void> {
    if (objects.length === 0) return;
    for (const o of objects) this.#pointers.delete(o.Key!);
    const out = await this.send(path, () =>
      this.client.send(
        new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: objects.map((o) => ({ Key: o.Key! })), Quiet: true } }),
      ),
    );
    const failed = out.Errors ?? [];
    if (failed.length > 0) throw new Error(`${this.name}: ${failed.length} objects under ${path} were not deleted: ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
  }

  async move(source: string, dest: string): Promise<void> {
    const object = await this.head(source);
    const to = this.key(dest);
    if (object) {
      if (source === dest) return;
      await this.deleteFolder(dest); // a folder in the way
      await this.copy(source, this.key(source), object.target ? 0 : object.size, to); // a pointer is copied as it is
      await this.send(source, () => this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.key(source) })));
      return;
    }
    const from = this.folder(source);
    let found = false;
    for await (const page of this.pages(source, from)) {
      const objects = page.Contents ?? [];
      if (!found) {
        if (objects.length === 0) break;
        found = true;
        if (source === dest) return;
        await this.delete(dest); // whatever is there, an object or a folder
      }
      for (const o of objects) await this.copy(source, o.Key!, o.Size ?? 0, `${to}/${o.Key!.slice(from.length)}`);
      await this.deleteKeys(source, objects);
    }
    if (!found) throw new PathNotFoundError(source, this.name);
  }

  /** Copies one object on the store's side (CopyObject up to 5 GiB, multipart beyond). */
  private async copy(path: string, from: string, size: number, to: string): Promise<void> {
    if (size <= S3_MAX_PART) {
      await this.send(path, () => this.client.send(new CopyObjectCommand({ Bucket: this.#bucket, Key: to, CopySource: this.#concat.copySource(from) })));
    } else {
      await this.#concat.concatenate(path, [{ key: from, size }], to);
    }
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
    this.key(dest);
    await this.#chunked.commit(path, dest, state, options);
    await this.deleteFolder(path);
  }

  /** Writes the whole objects `sources` (small: under one part together) as object `dest`. */
  private async writeSmall(path: string, sources: readonly { key: string; size: number }[], dest: string): Promise<void> {
    if (sources.length === 0) await this.putContent(dest, Buffer.alloc(0));
    else if (sources.length === 1) await this.copy(path, sources[0]!.key, sources[0]!.size, this.key(dest));
    else await this.#concat.concatenate(path, sources, this.key(dest));
  }

  // --- redirects and start-up ---------------------------------------------------------------

  /** A presigned GET URL valid for the configured expiry, or undefined when redirects are off. */
  async redirectURL(path: string): Promise<string | undefined> {
    if (this.#redirectExpiry === undefined) return undefined;
    const key = this.key(path);
    const Key = this.#pointers.get(key) ?? (await this.head(path))?.target ?? key;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.#bucket, Key }), { expiresIn: this.#redirectExpiry });
  }

  /**
   * Checks that the bucket exists and the credentials may use it (HeadBucket).
   * @throws StorageConfigError naming the key at fault: bucket, accesskey/secretkey, endpoint or region
   */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.#bucket }));
    } catch (err) {
      throw explainStartupError(err, this.#bucket, this.#endpoint);
    }
  }
}
