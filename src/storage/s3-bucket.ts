/**
 * The bucket an S3 driver works in: its SDK clients, the key of every storage path (under
 * `rootdirectory`), and the requests every part of the driver shares: errors translated (s3-errors.ts),
 * listings paged through ListObjectsV2, keys deleted 1,000 a DeleteObjects request.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type _Object, type CommonPrefix, type S3ClientConfig } from '@aws-sdk/client-s3';
import { checkPath } from './driver.js';
import { translateS3Error } from './s3-errors.js';
import { SmallClient, SmallFallback, type ListPage } from './s3-small.js';

/** One page of a listing, through the SDK or not ({@link ListPage}): objects, common prefixes, the next page's token. */
export interface ListingPage {
  Contents?: _Object[] | ListPage['Contents'];
  CommonPrefixes?: CommonPrefix[];
  NextContinuationToken?: string;
}

/** How an S3 driver reaches its bucket. */
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

/** Bytes of an object that {@link S3Bucket.putObject} writes without the SDK at most. */
const SMALL_PUT_BYTES = 1024 * 1024;

/** The folder, under the root directory, of the objects that pointers name (see s3-pointers.ts). */
export const OBJECTS = '_objects';

/** One bucket, as the driver named `name` sees it. */
export class S3Bucket {
  readonly name: string;
  readonly bucket: string;
  /** the key prefix of every object: the root directory and `/`, or empty */
  readonly prefix: string;
  /** the client with the SDK's retries */
  readonly client: S3Client;
  /** the same without SDK retries, for requests whose body is a stream (retried by their callers) */
  readonly streamClient: S3Client;
  readonly maxAttempts: number;
  /** HEAD/GET of small objects without the SDK (s3-small.ts), when the endpoint is plain HTTP with static credentials */
  readonly small: SmallClient | undefined;
  readonly #pageSize: number;
  /** called with every key deleted (the pointer cache forgets them) */
  onDelete: (key: string) => void = () => undefined;

  constructor(name: string, options: S3DriverOptions) {
    this.name = name;
    this.bucket = options.bucket;
    const root = options.rootDirectory.replace(/^\/+|\/+$/g, '');
    this.prefix = root ? `${root}/` : '';
    this.#pageSize = options.listPageSize ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    const config: S3ClientConfig = {
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKey && options.secretKey ? { accessKeyId: options.accessKey, secretAccessKey: options.secretKey } : undefined,
      maxAttempts: this.maxAttempts,
      retryMode: 'standard',
      // S3-compatible stores do not all accept the streamed checksum trailers newer SDKs send by default
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, httpAgent: { keepAlive: true, maxSockets: 256 }, httpsAgent: { keepAlive: true, maxSockets: 256 } },
    };
    this.client = new S3Client(config);
    this.streamClient = new S3Client({ ...config, maxAttempts: 1 });
    this.small = SmallClient.for(options);
  }

  /** The key of storage path `path`. @throws InvalidPathError */
  key(path: string): string {
    checkPath(path, this.name);
    return path === '/' ? this.prefix : this.prefix + path.slice(1);
  }

  /** The key prefix of the objects inside folder `path`. */
  folder(path: string): string {
    return path === '/' ? this.prefix : `${this.key(path)}/`;
  }

  /** Maps an SDK error met on `path` (see s3-errors.ts). */
  translate(err: unknown, path: string): unknown {
    return translateS3Error(err, path, this.name);
  }

  /** Runs `request`, translating its error. */
  async send<T>(path: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.translate(err, path);
    }
  }

  /**
   * Writes `body` as the object at `path` (atomic, as PutObject is): without the SDK when it is small
   * (links, tags, manifests: up to 1 MiB) and the store allows it (s3-small.ts), else, or when that
   * request was not a plain `200`, through the SDK.
   */
  async putObject(path: string, body: Buffer): Promise<void> {
    const key = this.key(path);
    if (this.small && body.length <= SMALL_PUT_BYTES) {
      const sent = await this.small.send('PUT', key, body).catch((err: unknown) => {
        if (err instanceof SmallFallback) return undefined;
        throw err;
      });
      if (sent) return;
    }
    await this.send(path, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body })));
  }

  /**
   * The pages of keys under `prefix`; with `delimiter`, sub-folders come as common prefixes. Each page
   * is one ListObjectsV2 request, sent without the SDK where the store allows it (s3-small.ts), else
   * (or when that request fails) through the SDK, which retries and names the error.
   */
  async *pages(path: string, prefix: string, delimiter?: string): AsyncGenerator<ListingPage> {
    let token: string | undefined;
    do {
      const page = await this.#page(path, prefix, delimiter, token);
      yield page;
      token = page.NextContinuationToken;
    } while (token);
  }

  /** The first object under `prefix` (one ListObjectsV2 request of one key), or undefined when there is none. */
  async firstObject(path: string, prefix: string): Promise<{ LastModified?: Date } | undefined> {
    return (await this.#page(path, prefix, undefined, undefined, 1)).Contents?.[0];
  }

  async #page(path: string, prefix: string, delimiter: string | undefined, token: string | undefined, maxKeys = this.#pageSize): Promise<ListingPage> {
    if (this.small) {
      const page = await this.small.listPage(prefix, maxKeys, delimiter, token).catch((err: unknown) => {
        if (err instanceof SmallFallback) return undefined;
        throw err;
      });
      if (page) return page;
    }
    const out = await this.send(path, () =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: delimiter, MaxKeys: maxKeys, ContinuationToken: token })),
    );
    return { Contents: out.Contents, CommonPrefixes: out.CommonPrefixes, NextContinuationToken: out.IsTruncated ? out.NextContinuationToken : undefined };
  }

  /** The objects under `prefix`, page by page. */
  async *keys(path: string, prefix: string): AsyncGenerator<_Object> {
    for await (const page of this.pages(path, prefix)) yield* page.Contents ?? [];
  }

  /**
   * Deletes `objects` (at most 1,000) with one DeleteObjects request.
   * @throws Error naming the first object the store did not delete
   */
  async deleteKeys(path: string, objects: readonly { Key?: string }[]): Promise<void> {
    if (objects.length === 0) return;
    for (const o of objects) this.onDelete(o.Key!);
    const out = await this.send(path, () =>
      this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects.map((o) => ({ Key: o.Key! })), Quiet: true } })),
    );
    const failed = out.Errors ?? [];
    if (failed.length > 0) throw new Error(`${this.name}: ${failed.length} objects under ${path} were not deleted: ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
  }
}
