/**
 * Concatenating stored objects (or ranges of them) into one new S3 object with one multipart upload
 * (see multipart-plan.ts): parts of 5 MiB and more are copied on the store's side (UploadPartCopy),
 * smaller ones are streamed through this process. A store without UploadPartCopy (s3rver) answers
 * NotImplemented once, and every part is streamed from then on. The S3 driver uses it to move objects
 * over 5 GiB (CopyObject's limit) and to commit small upload sessions of several appends.
 */
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { StorageUnavailableError } from './driver-errors.js';
import { planParts, S3_MAX_PART, S3_MAX_PARTS, S3_MIN_PART, type Piece, type PlannedPart } from './multipart-plan.js';
import { isNotImplemented } from './s3-errors.js';

/** What the concatenation needs of the S3 driver. */
export interface ConcatAccess {
  readonly bucket: string;
  /** the client with the SDK's retries, and one without them for streamed bodies (retried here) */
  readonly client: S3Client;
  readonly streamClient: S3Client;
  readonly maxAttempts: number;
  readonly partSize: number;
  /** bytes `[range.start, range.end]` of `key` */
  get(path: string, key: string, range: { start: number; end: number }): Promise<Readable>;
  translate(err: unknown, path: string): unknown;
}

/** Concatenates objects of one bucket on the store's side where it can. */
export class Concatenator {
  /** whether the store copies parts on its side: unknown until the first UploadPartCopy */
  #partCopy: boolean | undefined;

  constructor(private readonly s3: ConcatAccess) {}

  /** `CopySource` of `key` in the bucket. */
  copySource(key: string): string {
    return encodeURI(`${this.s3.bucket}/${key}`);
  }

  /** Copies object `from` of `size` bytes to `to` on the store's side: CopyObject up to 5 GiB, a multipart copy beyond. */
  async copy(path: string, from: string, size: number, to: string): Promise<void> {
    if (size > S3_MAX_PART) return this.concatenate(path, [{ key: from, size }], to);
    try {
      await this.s3.client.send(new CopyObjectCommand({ Bucket: this.s3.bucket, Key: to, CopySource: this.copySource(from) }));
    } catch (err) {
      throw this.s3.translate(err, path);
    }
  }

  /** Writes the concatenation of the whole objects `sources` as object `to` (one multipart upload). */
  async concatenate(path: string, sources: readonly { key: string; size: number }[], to: string): Promise<void> {
    const total = sources.reduce((n, s) => n + s.size, 0);
    const partSize = Math.max(this.s3.partSize, Math.ceil(total / S3_MAX_PARTS));
    for (;;) {
      const canCopy = this.#partCopy !== false;
      const plan = planParts(sources, { partSize, minPartSize: S3_MIN_PART, maxCopySize: S3_MAX_PART, canCopy });
      try {
        await this.multipart(path, plan, to);
        return;
      } catch (err) {
        if (!canCopy || !isNotImplemented(err)) throw this.s3.translate(err, path);
        this.#partCopy = false; // the store has no UploadPartCopy: stream the parts from now on
      }
    }
  }

  private async multipart(path: string, plan: readonly PlannedPart[], to: string): Promise<void> {
    const { client, bucket } = this.s3;
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: to }));
    const target = { Bucket: bucket, Key: to, UploadId };
    try {
      const parts: CompletedPart[] = [];
      for (const [i, part] of plan.entries()) {
        const PartNumber = i + 1;
        if ('copy' in part) {
          const { copy } = part;
          const out = await client.send(
            new UploadPartCopyCommand({ ...target, PartNumber, CopySource: this.copySource(copy.key), CopySourceRange: `bytes=${copy.start}-${copy.end}` }),
          );
          this.#partCopy = true;
          parts.push({ PartNumber, ETag: out.CopyPartResult?.ETag });
        } else {
          const out = await this.retrying(() => this.uploadStreamedPart(path, { ...target, PartNumber }, part.pieces, part.size));
          parts.push({ PartNumber, ETag: out.ETag });
        }
      }
      await client.send(new CompleteMultipartUploadCommand({ ...target, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await client.send(new AbortMultipartUploadCommand(target)).catch(() => undefined);
      throw err;
    }
  }

  /** The bytes of `pieces`, in order, one ranged GET after the other. */
  private async *stream(path: string, pieces: readonly Piece[]): AsyncGenerator<Buffer> {
    for (const p of pieces) {
      for await (const chunk of await this.s3.get(path, p.key, p)) yield chunk as Buffer;
    }
  }

  /** UploadPart with a body streamed from `pieces`; a failed read of a piece aborts the request and is its error. */
  private async uploadStreamedPart(
    path: string,
    target: { Bucket: string; Key: string; UploadId: string | undefined; PartNumber: number },
    pieces: readonly Piece[],
    size: number,
  ): Promise<{ ETag?: string }> {
    const Body = Readable.from(this.stream(path, pieces));
    const abort = new AbortController();
    let readError: unknown;
    Body.once('error', (err) => {
      readError = err;
      abort.abort(err);
    });
    try {
      return await this.s3.streamClient.send(new UploadPartCommand({ ...target, Body, ContentLength: size }), { abortSignal: abort.signal });
    } catch (err) {
      throw readError ?? err;
    } finally {
      Body.destroy();
    }
  }

  /**
   * Runs `request` (which builds a fresh streamed body each time) up to the configured attempts while
   * it fails with a retryable error, with exponential backoff: the SDK cannot replay a stream.
   */
  private async retrying<T>(request: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (err) {
        if (attempt >= this.s3.maxAttempts || !(this.s3.translate(err, '/') instanceof StorageUnavailableError)) throw err;
        await delay(Math.min(20_000, 100 * 2 ** attempt * (0.5 + Math.random() / 2)));
      }
    }
  }
}
