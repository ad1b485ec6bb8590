/** Stream helpers of the client: byte counting for progress, and a verifying hasher. */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { newHasher, parseDigest, type Digest } from '../oci/digest.js';
import { ClientError } from './errors.js';

/** Pipes `source` through a pass-through that calls `onBytes(total so far)` as bytes flow. */
export function counting(source: Readable, onBytes: (total: number) => void): Readable {
  let total = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      total += chunk.length;
      onBytes(total);
      cb(null, chunk);
    },
  });
  source.on('error', (err) => counter.destroy(err));
  counter.on('close', () => {
    if (!source.destroyed && !source.readableEnded) source.destroy();
  });
  return source.pipe(counter);
}

/**
 * Hashes bytes as they are handed to it and checks, at the end, their count and digest
 * (go-containerregistry `verify.ReadCloser`).
 */
export class Verifier {
  readonly #hash;
  #bytes = 0;

  constructor(
    readonly digest: Digest,
    readonly size: number | undefined,
    /** what is verified, for the error message (e.g. `blob sha256:... of team/app`) */
    readonly what: string,
  ) {
    this.#hash = newHasher(parseDigest(digest).algorithm);
  }

  /** Adds bytes. @throws ClientError SIZE_MISMATCH when more than `size` bytes come */
  update(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.size !== undefined && this.#bytes > this.size) {
      throw new ClientError('SIZE_MISMATCH', `${this.what}: more than the ${this.size} bytes its descriptor says`);
    }
    this.#hash.update(chunk);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Checks the total. @throws ClientError SIZE_MISMATCH | DIGEST_MISMATCH */
  finish(): void {
    if (this.size !== undefined && this.#bytes !== this.size) {
      throw new ClientError('SIZE_MISMATCH', `${this.what}: ${this.#bytes} bytes, not the ${this.size} its descriptor says`);
    }
    const got = `${parseDigest(this.digest).algorithm}:${this.#hash.digest('hex')}`;
    if (got !== this.digest) throw new ClientError('DIGEST_MISMATCH', `${this.what}: the content's digest is ${got}, not ${this.digest}`);
  }
}
