/**
 * The multipart uploads of upload sessions on S3 (see s3-chunked.ts): each session's upload is created
 * once, named by an `upload-<tag>` object in the session's folder (its key and UploadId as JSON, so that
 * another process or a restart finds it), and remembered by this process once met. Parts are uploaded
 * from the chunks they came in (streamed, retried here since the SDK cannot replay a stream), their ETags
 * listed at commit, and a deleted session's uploads aborted.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type _Object,
} from '@aws-sdk/client-s3';
import { InvalidOffsetError, StorageUnavailableError } from './driver-errors.js';
import type { S3Access } from './s3-chunked.js';
import { hash8, isUploadObject, readUploadObject } from './s3-records.js';

/** One multipart upload of a session. */
export interface Upload {
  key: string;
  uploadId: string;
  tag: string;
}

/** Attempts per part upload (its body is streamed, so the SDK cannot retry it itself). */
const PART_ATTEMPTS = 4;

/** The multipart uploads of one S3 driver's sessions. */
export class SessionUploads {
  /** known uploads by folder and tag, read from their `upload-<tag>` objects */
  readonly #uploads = new Map<string, Upload>();

  constructor(
    private readonly s3: S3Access,
    private readonly maxParts: number,
  ) {}

  /**
   * The upload `tag` of the session at `path`, whose `upload-<tag>` objects are `uploads` (tag to key).
   * @throws InvalidOffsetError when its object is gone (the session was removed)
   */
  async get(path: string, tag: string, uploads: ReadonlyMap<string, string>): Promise<Upload> {
    const cacheKey = `${this.s3.folder(path)}${tag}`;
    const known = this.#uploads.get(cacheKey);
    if (known) return known;
    const key = uploads.get(tag);
    if (!key) throw new InvalidOffsetError(path, 0, this.s3.name);
    const out = await this.s3.send(path, () => this.s3.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: key })));
    const upload = { ...readUploadObject(await out.Body!.transformToString()), tag };
    this.#uploads.set(cacheKey, upload);
    return upload;
  }

  /** A new multipart upload for the session at `path`, into `_objects/<uuid>`, with its `upload-<tag>` object. */
  async create(path: string): Promise<Upload> {
    const key = `${this.s3.objectsPrefix}${randomUUID()}`;
    const { UploadId } = await this.s3.send(path, () => this.s3.client.send(new CreateMultipartUploadCommand({ Bucket: this.s3.bucket, Key: key })));
    const upload = { key, uploadId: UploadId!, tag: hash8(UploadId!) };
    const body = JSON.stringify({ key, uploadId: UploadId });
    await this.s3.send(path, () =>
      this.s3.client.send(new PutObjectCommand({ Bucket: this.s3.bucket, Key: `${this.s3.folder(path)}upload-${upload.tag}`, Body: body })),
    );
    this.#uploads.set(`${this.s3.folder(path)}${upload.tag}`, upload);
    return upload;
  }

  /** Forgets `upload` of the session at `path` (completed). */
  forget(path: string, upload: Upload): void {
    this.#uploads.delete(`${this.s3.folder(path)}${upload.tag}`);
  }

  /**
   * Uploads part `number` of `upload` from the chunks `body`.
   * @returns its ETag
   * @throws Error past the store's part limit; StorageUnavailableError after {@link PART_ATTEMPTS} failed attempts
   */
  async uploadPart(path: string, upload: Upload, number: number, body: Buffer[], signal?: AbortSignal): Promise<string> {
    if (number > this.maxParts) throw new Error(`${this.s3.name}: ${path} needs more than ${this.maxParts} parts`);
    const ContentLength = body.reduce((n, b) => n + b.length, 0);
    const target = { Bucket: this.s3.bucket, Key: upload.key, UploadId: upload.uploadId, PartNumber: number, ContentLength };
    // the part's chunks as they came, streamed (no copy of the part into one buffer); a fresh stream per attempt
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.s3.send(path, () =>
          this.s3.streamClient.send(new UploadPartCommand({ ...target, Body: Readable.from(body, { objectMode: false }) }), { abortSignal: signal }),
        );
        return out.ETag!;
      } catch (err) {
        if (attempt >= PART_ATTEMPTS || signal?.aborted || !(err instanceof StorageUnavailableError)) throw err;
        await delay(200 * 2 ** attempt);
      }
    }
  }

  /**
   * The ETags of the upload's parts by number: ListParts page by page while IsTruncated (not the SDK's
   * paginator: RGW 16 sends a NextPartNumberMarker on the last page too, and the paginator never ends).
   */
  async partEtags(path: string, upload: Upload): Promise<Map<number, string>> {
    const etags = new Map<number, string>();
    let marker: string | undefined;
    for (;;) {
      const page = await this.s3.send(path, () =>
        this.s3.client.send(new ListPartsCommand({ Bucket: this.s3.bucket, Key: upload.key, UploadId: upload.uploadId, PartNumberMarker: marker })),
      );
      for (const p of page.Parts ?? []) etags.set(p.PartNumber!, p.ETag!);
      if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return etags;
      marker = String(page.NextPartNumberMarker);
    }
  }

  /** Aborts the multipart uploads whose `upload-<tag>` objects are among `objects` (a folder being deleted). */
  async abandon(path: string, objects: readonly _Object[]): Promise<void> {
    for (const o of objects) {
      if (!isUploadObject(o.Key!.slice(o.Key!.lastIndexOf('/') + 1))) continue;
      try {
        const out = await this.s3.client.send(new GetObjectCommand({ Bucket: this.s3.bucket, Key: o.Key! }));
        const { key, uploadId } = readUploadObject(await out.Body!.transformToString());
        await this.s3.client.send(new AbortMultipartUploadCommand({ Bucket: this.s3.bucket, Key: key, UploadId: uploadId }));
      } catch {
        // completed (the commit made it a blob) or already aborted
      }
      for (const k of this.#uploads.keys()) if (k.startsWith(this.s3.folder(path))) this.#uploads.delete(k);
    }
  }
}
