/**
 * Pointer objects and reads on S3. A committed upload session's bytes stay where its multipart upload
 * completed, `_objects/<uuid>`, and the blob's path holds a POINTER: an empty object whose metadata
 * (`wharf-object`, `wharf-size`) names that key and the size (see s3-chunked.ts). Reads, stat and
 * redirects follow pointers; each process remembers the pointers it met (key, target and size: a
 * pointer never changes once written), so a blob `GET` after the first is one GetObject of the bytes.
 *
 * Reads of 4 MiB and more whose size is known stream through {@link largeGet} (big socket reads; see
 * s3-large-get.ts) on `http:` endpoints, else through GetObject's body stream.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PathNotFoundError } from './driver-errors.js';
import type { S3Bucket } from './s3-bucket.js';
import { largeGet, LargeGetFallback } from './s3-large-get.js';
import { SmallFallback } from './s3-small.js';
import { SharedSends } from './shared-sends.js';

/** The metadata of a pointer object: the key holding the bytes, and their size. */
const POINTER_KEY = 'wharf-object';
const POINTER_SIZE = 'wharf-size';
/** How many pointers a driver remembers (about 200 bytes each). */
const POINTERS_KEPT = 50_000;
/** Reads of at least this many bytes go through {@link largeGet}. */
const LARGE_GET_BYTES = 4 * 1024 * 1024;
/** Seconds the presigned URL of a large GET is valid (it is used at once). */
const LARGE_GET_EXPIRY_S = 300;

/** What HEAD tells of an object: its size and time, and for a pointer the key of the bytes. */
export interface Head {
  size: number;
  modTime: Date;
  target?: string;
}

/** A pointer met: the key of its bytes and their size. */
interface Pointer {
  target: string;
  size: number;
}

/** Bytes `[start, end]` (inclusive) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Size, time and user metadata (`x-amz-meta-*`) from the headers of a `200` answer. */
function smallHead(headers: Record<string, string | string[] | undefined>): { size: number; modTime: Date; metadata: Record<string, string> } {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
  }
  const modified = headers['last-modified'];
  return { size: Number(headers['content-length'] ?? 0), modTime: typeof modified === 'string' ? new Date(modified) : new Date(0), metadata };
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

/** The pointers of one bucket, and reads that follow them. */
export class Pointers {
  /** pointer keys met, with the key and size of their bytes (immutable once written; checked again when gone) */
  readonly #known = new LRUCache<string, Pointer>({ max: POINTERS_KEPT });
  readonly #shared = new SharedSends();

  constructor(private readonly s3: S3Bucket) {}

  /** Forgets `key` (deleted). */
  forget(key: string): void {
    this.#known.delete(key);
  }

  /** The size and time of the object at `path` (for a pointer: of its bytes, and their key), or undefined when absent. */
  async head(path: string): Promise<Head | undefined> {
    if (path === '/') return undefined;
    const key = this.s3.key(path);
    const h = await this.headObject(path, key);
    if (!h) return undefined;
    const target = h.metadata[POINTER_KEY];
    if (target === undefined) return { size: h.size, modTime: h.modTime };
    const size = Number(h.metadata[POINTER_SIZE] ?? 0);
    this.#known.set(key, { target, size });
    return { size, modTime: h.modTime, target };
  }

  /** HEAD of object `key`: without the SDK where it can (s3-small.ts), else through it; undefined when absent. */
  private async headObject(path: string, key: string): Promise<{ size: number; modTime: Date; metadata: Record<string, string> } | undefined> {
    const small = await this.s3.small?.send('HEAD', key).catch((err: unknown) => {
      if (err instanceof SmallFallback) return undefined;
      throw err;
    });
    if (small) return small.found ? smallHead(small.headers) : undefined;
    try {
      const h = await this.s3.client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: key }));
      return { size: h.ContentLength ?? 0, modTime: h.LastModified ?? new Date(0), metadata: h.Metadata ?? {} };
    } catch (err) {
      const e = this.s3.translate(err, path);
      if (e instanceof PathNotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * The bytes of small object `path` (read whole: links, tags, manifests), following a pointer.
   * @throws PathNotFoundError
   */
  async content(path: string): Promise<Buffer> {
    const key = this.s3.key(path);
    if (!this.#known.has(key) && this.s3.small) {
      const small = await this.s3.small.send('GET', key).catch((err: unknown) => {
        if (err instanceof SmallFallback) return undefined;
        throw err;
      });
      if (small && !small.found) throw new PathNotFoundError(path, this.s3.name);
      if (small && smallHead(small.headers).metadata[POINTER_KEY] === undefined) return small.body;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(path, key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** The pointer target of object `key` when it is an empty object with pointer metadata (HEAD), else undefined. */
  async targetOf(key: string): Promise<string | undefined> {
    const h = await this.s3.client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: key })).catch(() => undefined);
    return h?.Metadata?.[POINTER_KEY];
  }

  /**
   * The same, for a purge that must not mistake a failed HEAD for a missing pointer.
   * @throws the translated error of a HEAD that fails other than with "not found"
   */
  async strictTargetOf(key: string): Promise<string | undefined> {
    try {
      const h = await this.s3.client.send(new HeadObjectCommand({ Bucket: this.s3.bucket, Key: key }));
      return h.Metadata?.[POINTER_KEY];
    } catch (err) {
      const e = this.s3.translate(err, '/');
      if (e instanceof PathNotFoundError) return undefined;
      throw e;
    }
  }

  /** Makes `dest` a pointer to the object `target` of `size` bytes. */
  async put(dest: string, target: string, size: number): Promise<void> {
    const Key = this.s3.key(dest);
    const Metadata = { [POINTER_KEY]: target, [POINTER_SIZE]: String(size) };
    await this.s3.send(dest, () => this.s3.client.send(new PutObjectCommand({ Bucket: this.s3.bucket, Key, Body: Buffer.alloc(0), Metadata })));
    this.#known.set(Key, { target, size });
  }

  /** The key of the bytes of object `path` (its target when it is a pointer). */
  async bytesKey(path: string): Promise<string> {
    const key = this.s3.key(path);
    return this.#known.get(key)?.target ?? (await this.head(path))?.target ?? key;
  }

  /**
   * A stream of object `key`'s bytes (of the object a pointer names, when `key` is one), of `range`
   * when given. A pointer met before is read straight from its target (one request).
   */
  async get(path: string, key: string, range?: ByteRange): Promise<Readable> {
    const known = this.#known.get(key);
    if (known) {
      try {
        return await this.read(path, known.target, range, known.size);
      } catch (err) {
        if (!(err instanceof PathNotFoundError)) throw err;
        this.#known.delete(key); // the target is gone: read the key again
      }
    }
    const out = await this.getObject(path, key, range);
    const target = out.Metadata?.[POINTER_KEY];
    if (target === undefined) return this.limited(out.Body as Readable, range);
    (out.Body as Readable).resume();
    const pointer = { target, size: Number(out.Metadata?.[POINTER_SIZE] ?? 0) };
    this.#known.set(key, pointer);
    return this.read(path, target, range, pointer.size);
  }

  /**
   * Reads object `key`, known not to be a pointer (of `range`, else of all its `size` bytes when known),
   * through {@link largeGet} when that is 4 MiB or more.
   */
  async read(path: string, key: string, range: ByteRange | undefined, size: number | undefined): Promise<Readable> {
    const length = range ? range.end - range.start + 1 : size;
    if (length !== undefined && length >= LARGE_GET_BYTES) {
      const large = async (part: ByteRange | undefined, bytes: number) =>
        largeGet({ url: new URL(await getSignedUrl(this.s3.client, this.command(key, part), { expiresIn: LARGE_GET_EXPIRY_S })), range: part, length: bytes }, this.s3.name);
      try {
        if (range) return await large(range, length);
        // a whole object: sends asked together share one GET (shared-sends.ts)
        return await this.#shared.open(key, {
          length,
          whole: () => large(undefined, length),
          from: (start) => this.read(path, key, { start, end: length - 1 }, size),
        });
      } catch (err) {
        if (!(err instanceof LargeGetFallback)) throw this.s3.translate(err, path);
      }
    }
    return this.limited((await this.getObject(path, key, range)).Body as Readable, range);
  }

  private command(key: string, range: ByteRange | undefined): GetObjectCommand {
    return new GetObjectCommand({ Bucket: this.s3.bucket, Key: key, Range: range && `bytes=${range.start}-${range.end}` });
  }

  private getObject(path: string, key: string, range: ByteRange | undefined) {
    return this.s3.send(path, () => this.s3.client.send(this.command(key, range)));
  }

  /** The body cut at the range's length, since some stores answer a range of `0-0` with the whole object. */
  private limited(body: Readable, range: ByteRange | undefined): Readable {
    return range ? body.pipe(new Limit(range.end - range.start + 1, body)) : body;
  }
}
