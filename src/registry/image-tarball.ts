/**
 * The contents of an image tarball (an OCI image layout or a `docker save`), read from a stream for
 * an {@link ImageImport}: every entry that may be a blob streams into an upload session of its own as
 * it passes (never held in memory, never written whole anywhere else) and is remembered by its path
 * and the digest computed on the way; only the small metadata files (`manifest.json`, `index.json`,
 * `oci-layout`) are kept in memory, up to {@link MAX_METADATA_BYTES}; links are remembered and
 * followed by {@link TarballContents.resolve}. A tarball's entries come in any order (`docker save`
 * writes `manifest.json` last), which is why nothing is decided before the end.
 */
import { posix } from 'node:path';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { digestOf, newHasher, type Algorithm, type Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/reference.js';
import type { UploadSessions } from './uploads.js';

/** Largest metadata file (`manifest.json`, `index.json`, `oci-layout`) read into memory, in bytes. */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;
/** Most tarball entries streamed into upload sessions by one import. */
export const MAX_BLOB_ENTRIES = 10_000;
/** How many symbolic or hard links are followed from one path. */
const MAX_LINK_HOPS = 16;

const METADATA = new Set(['manifest.json', 'index.json', 'oci-layout']);
/** Entries of the old `docker save` format that no manifest needs: the v1 image JSON, its VERSION, and `repositories`. */
const IGNORED = /^(?:[^/]+\/(?:json|VERSION)|repositories)$/;
const OCI_BLOB = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/;

/** One entry of a tar stream: its header, and its bytes as an async iterable. */
type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** A tarball entry held in an upload session. */
export interface StoredEntry {
  digest: Digest;
  /** in bytes */
  size: number;
  /** the entry's first bytes start a gzip stream */
  gzip: boolean;
}

/** Hashes and counts the bytes that pass, and keeps the first two, unchanged. */
class DigestingStream extends Transform {
  readonly #hash;
  #size = 0;
  #head = Buffer.alloc(0);

  constructor(readonly algorithm: Algorithm) {
    super();
    this.#hash = newHasher(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    if (this.#head.length < 2) this.#head = Buffer.concat([this.#head, chunk.subarray(0, 2)]);
    cb(null, chunk);
  }

  /** The digest, byte count and compression of everything that passed; call once, after the end. */
  result(): StoredEntry {
    return { digest: digestOf(this.algorithm, this.#hash), size: this.#size, gzip: this.#head[0] === 0x1f && this.#head[1] === 0x8b };
  }
}

/**
 * The entries of one tarball, read by {@link TarballContents.read}. The upload session holding each
 * distinct digest stays open until {@link TarballContents.take} hands it over (to be committed) or
 * {@link TarballContents.abandon} cancels it.
 */
export class TarballContents {
  /** blob entries by normalized path */
  readonly entries = new Map<string, StoredEntry>();
  /** metadata files' bytes by path */
  readonly metadata = new Map<string, Buffer>();
  readonly #links = new Map<string, string>();
  /** the upload session holding each digest's bytes */
  readonly #sessions = new Map<Digest, string>();
  /** set when a gzip-compressed tarball expanded past `maxBytes` */
  #expandedTooLarge: RegistryError | undefined;

  /**
   * @param uploads where the entries' upload sessions are opened
   * @param repository the repository the sessions belong to
   * @param maxBytes the most bytes a gzip-compressed tarball may expand to
   * @param signal aborts the read (its reason is thrown)
   */
  constructor(
    private readonly uploads: UploadSessions,
    private readonly repository: RepositoryName,
    private readonly maxBytes: number,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Reads the whole tarball (a tar stream, gzip-compressed or not); on failure its upload sessions are cancelled.
   * @throws RegistryError BLOB_UPLOAD_INVALID (not a tar, too many files, metadata too large) |
   *   DIGEST_INVALID (a `blobs/<alg>/<hex>` entry does not hash to its name) |
   *   SIZE_INVALID (decompressed past `maxBytes`) | the signal's reason
   */
  async read(tarball: Readable): Promise<void> {
    try {
      await this.#readEntries(tarball);
    } catch (err) {
      tarball.resume();
      await this.abandon();
      throw err;
    }
  }

  /** The upload session holding `digest`'s bytes, if one is still open. */
  session(digest: Digest): string | undefined {
    return this.#sessions.get(digest);
  }

  /** Forgets the session of `digest` (its caller committed it), so that {@link abandon} leaves it alone. */
  take(digest: Digest): void {
    this.#sessions.delete(digest);
  }

  /** Cancels every upload session not taken. Never throws. */
  async abandon(): Promise<void> {
    for (const id of this.#sessions.values()) await this.uploads.cancel(this.repository, id).catch(() => undefined);
    this.#sessions.clear();
  }

  /** The stored entry at archive path `path`, following links. @throws RegistryError MANIFEST_BLOB_UNKNOWN */
  resolve(path: string): StoredEntry {
    let current = normalize(path);
    for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
      const entry = this.entries.get(current);
      if (entry) return entry;
      const target = this.#links.get(current);
      if (target === undefined) break;
      current = target;
    }
    throw new RegistryError('MANIFEST_BLOB_UNKNOWN', {
      message: `manifest.json names ${path.slice(0, 200)}, which the tarball does not hold`,
      detail: { path: path.slice(0, 200) },
    });
  }

  async #readEntries(tarball: Readable): Promise<void> {
    const extract = tar.extract();
    let malformed: Error | undefined; // the tar parser's own complaint, as opposed to a storage failure
    extract.on('error', (err: Error) => (malformed ??= err));
    const input = await this.#gunzipped(tarball);
    input.on('error', (err) => extract.destroy(err));
    input.pipe(extract);
    let blobEntries = 0;
    try {
      for await (const entry of extract) {
        this.signal?.throwIfAborted();
        const path = normalize(entry.header.name);
        const type = entry.header.type ?? 'file';
        if (type === 'symlink' || type === 'link') {
          const target = entry.header.linkname ?? '';
          this.#links.set(path, normalize(type === 'symlink' ? posix.join(posix.dirname(path), target) : target));
          await drain(entry);
        } else if ((type !== 'file' && type !== 'contiguous-file') || IGNORED.test(path)) {
          await drain(entry);
        } else if (METADATA.has(path)) {
          this.metadata.set(path, await readSmall(entry, path));
        } else {
          if (++blobEntries > MAX_BLOB_ENTRIES) throw invalidTarball(`the tarball holds more than ${MAX_BLOB_ENTRIES} files`);
          this.entries.set(path, await this.#store(path, entry));
        }
      }
    } catch (err) {
      this.signal?.throwIfAborted();
      if (this.#expandedTooLarge) throw this.#expandedTooLarge;
      if (malformed && !(err instanceof RegistryError)) throw invalidTarball(`cannot read the tarball: ${malformed.message}`, err);
      throw err;
    }
    this.signal?.throwIfAborted();
  }

  /**
   * The tar stream: `tarball` itself, or its decompressed bytes when it starts with gzip's magic
   * bytes (`docker save | gzip`, which `docker load` reads too), cut off past `maxBytes` so that a
   * small compressed upload cannot expand without bound.
   */
  async #gunzipped(tarball: Readable): Promise<Readable> {
    const { head, stream } = await peek(tarball, 2);
    if (head[0] !== 0x1f || head[1] !== 0x8b) return stream;
    const gunzip = createGunzip();
    stream.on('error', (err) => gunzip.destroy(err));
    let expanded = 0;
    const limit = this.maxBytes;
    const counted = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        expanded += chunk.length;
        if (expanded <= limit) return cb(null, chunk);
        this.#expandedTooLarge = new RegistryError('SIZE_INVALID', {
          status: 413,
          message: `the decompressed tarball is larger than ${limit} bytes (admin.import.maxbytes)`,
          detail: { limit },
        });
        cb(this.#expandedTooLarge);
      },
    });
    gunzip.on('error', (err) => counted.destroy(err));
    return stream.pipe(gunzip).pipe(counted);
  }

  /**
   * Streams one entry into an upload session of its own, which is kept (not committed) when it is
   * the first to hold these bytes, and cancelled otherwise.
   */
  async #store(path: string, entry: TarEntry): Promise<StoredEntry> {
    const oci = OCI_BLOB.exec(path);
    const digesting = new DigestingStream((oci?.[1] as Algorithm | undefined) ?? 'sha256');
    const { uploads } = this;
    const session = await uploads.create(this.repository);
    let kept = false;
    try {
      await uploads.append(this.repository, session.id, pipeline(Readable.from(entry), digesting, () => undefined), undefined, this.signal);
      const stored = digesting.result();
      if (oci && stored.digest !== `${oci[1]}:${oci[2]}`) {
        throw new RegistryError('DIGEST_INVALID', {
          message: `the tarball's ${path} hashes to ${stored.digest}, not to its name`,
          detail: { path, actual: stored.digest },
        });
      }
      if (!this.#sessions.has(stored.digest)) {
        this.#sessions.set(stored.digest, session.id);
        kept = true;
      }
      return stored;
    } finally {
      if (!kept) await uploads.cancel(this.repository, session.id).catch(() => undefined);
    }
  }

}

/**
 * Reads the first `n` bytes of `source` (fewer when it is shorter).
 * @returns those bytes, and a stream of all the bytes (the first ones included) that pulls the rest from `source` on demand
 */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < n && !ended) {
    const next = await chunks.next();
    if (next.done) ended = true;
    else {
      first.push(next.value);
      length += next.value.length;
    }
  }
  const head = Buffer.concat(first);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (let next = ended ? undefined : await chunks.next(); next && !next.done; next = await chunks.next()) yield next.value;
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** A tar path without a leading `./` or `/` and without a trailing `/`. */
function normalize(path: string): string {
  return posix.normalize(path).replace(/^(?:\.\/|\/)+/, '').replace(/\/+$/, '');
}

/** The path of blob `d` inside an OCI image layout. */
export function ociBlobPath(d: Digest): string {
  return `blobs/${d.replace(':', '/')}`;
}

async function drain(entry: TarEntry): Promise<void> {
  for await (const chunk of entry) void chunk;
}

async function readSmall(entry: TarEntry, path: string): Promise<Buffer> {
  if ((entry.header.size ?? 0) > MAX_METADATA_BYTES) throw invalidTarball(`${path} is larger than ${MAX_METADATA_BYTES} bytes`);
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function invalidTarball(message: string, cause?: unknown): RegistryError {
  return new RegistryError('BLOB_UPLOAD_INVALID', { message, detail: { reason: message }, cause });
}
