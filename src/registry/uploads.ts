/**
 * Upload sessions (Distribution Spec v1.1 "Pushing blobs": POST, PATCH, PUT, GET status, DELETE).
 * A session's bytes and info live in storage, so a session survives a restart and can be continued
 * by another process. The sha256 of the bytes is computed while they flow; a session continued in
 * another process (or after a restart), or committed as sha512, is re-hashed from storage at commit.
 * A blob becomes visible only after its digest was verified: the session's data is then moved into
 * place in one step, so a failed, cancelled or interrupted upload never leaves a blob or a link.
 */
import { randomUUID, type Hash } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Readable, Transform, pipeline, type TransformCallback } from 'node:stream';
import { digestOf, newHasher, type Digest, type ParsedDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { RepositoryName } from '../oci/reference.js';
import { type AppendedState, type StorageDriver } from '../storage/driver.js';
import { AppendedUnreadableError, InvalidOffsetError, isNotFound } from '../storage/driver-errors.js';
import { KeyedQueue } from '../storage/keyed-queue.js';
import * as layout from '../storage/layout.js';
import type { BlobInfo, BlobStore } from './blobs.js';
import { removedDetail } from './gc-guard.js';

/** The state of an upload session. */
export interface UploadStatus {
  id: layout.UploadId;
  name: RepositoryName;
  /** bytes received so far */
  offset: number;
}

/** A chunk's declared place in the blob (`Content-Range: start-end`, inclusive, bytes). */
export interface ChunkRange {
  start: number;
  end: number;
}

interface SessionInfo {
  name: string;
  startedAt: string;
}

/** The running sha256 of a session's bytes in this process, valid while `offset` equals the stored size. */
interface RunningHash {
  hash: Hash;
  offset: number;
}

/** Hashes the bytes that pass through, unchanged. */
class HashingPassThrough extends Transform {
  constructor(private readonly running: RunningHash) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.running.hash.update(chunk);
    cb(null, chunk);
  }
}

/**
 * Whether `source` is the body of a request this server received (node's HTTP parser gives each of its
 * chunks a Buffer of its own, read by nothing after the append): the driver may free each chunk once it
 * copied it (AppendOptions.ownChunks). A client response is an IncomingMessage too, without a method.
 */
function isRequestBody(source: Readable): boolean {
  return source instanceof IncomingMessage && typeof source.method === 'string';
}

/**
 * How many sessions keep a running hash in this process. Abandoned sessions would otherwise hold one
 * each forever; past the cap the oldest is dropped and, if it is ever finished, re-hashed from storage.
 */
const MAX_RUNNING_HASHES = 10_000;

/** Creates, continues, commits and cancels upload sessions. */
export class UploadSessions {
  readonly #hashes = new Map<string, RunningHash>();
  readonly #locks = new KeyedQueue();

  constructor(
    private readonly driver: StorageDriver,
    private readonly blobs: BlobStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Starts a session for repository `name`. */
  async create(name: RepositoryName): Promise<UploadStatus> {
    const id = randomUUID() as layout.UploadId;
    const info: SessionInfo = { name, startedAt: this.now().toISOString() };
    await this.driver.putContent(layout.uploadInfo(id), JSON.stringify(info));
    this.keepHash(id, { hash: newHasher('sha256'), offset: 0 });
    return { id, name, offset: 0 };
  }

  /**
   * The session `id` of repository `name`.
   * @throws RegistryError BLOB_UPLOAD_UNKNOWN when there is no such session, or it belongs to another repository
   */
  async status(name: RepositoryName, id: string): Promise<UploadStatus> {
    if (!layout.isUploadId(id)) throw unknownSession(id);
    let info: SessionInfo;
    try {
      info = JSON.parse((await this.driver.getContent(layout.uploadInfo(id))).toString('utf8')) as SessionInfo;
    } catch (err) {
      if (isNotFound(err)) throw unknownSession(id);
      throw err;
    }
    if (info.name !== name) throw unknownSession(id);
    return { id, name, offset: (await this.driver.appendedState(layout.uploadData(id))).size };
  }

  /**
   * Appends a chunk to the session. With `range`, the chunk must start at the current offset.
   * `options.unhashed`: the caller hashes the bytes itself and commits with `verified` (a pull-through
   * fill hashes on a worker thread): no running hash is kept, so only such a commit avoids reading them back.
   * `options.writeBuffer`: see AppendOptions.writeBuffer.
   * @throws RegistryError BLOB_UPLOAD_UNKNOWN; RANGE_INVALID (416, with the current `Range`) on a gap or overlap
   */
  append(name: RepositoryName, id: string, source: Readable, range?: ChunkRange, signal?: AbortSignal, options: { unhashed?: boolean; writeBuffer?: number } = {}): Promise<UploadStatus> {
    return this.locked(id, async () => {
      const status = await this.status(name, id);
      if (options.unhashed) this.#hashes.delete(status.id);
      return this.appendUnlocked(status, source, range, signal, !options.unhashed, options.writeBuffer);
    });
  }

  /**
   * Completes the session as blob `digest`, after appending `lastChunk` when given; verifies the
   * digest, moves the bytes into the shared store (unless already there), links the blob into the
   * repository and ends the session.
   * `verified`: the caller hashed exactly the session's `size` bytes itself and found `digest` (a
   * pull-through fill, whose bytes were appended `unhashed`): only the size is checked, nothing is read back.
   * @throws RegistryError BLOB_UPLOAD_UNKNOWN | RANGE_INVALID | DIGEST_INVALID | SIZE_INVALID (the session does not hold the
   *   `verified` size) (the session is then cancelled: nothing is stored);
   *   BLOB_UPLOAD_INVALID when a concurrent garbage collection removed the blob (the session is gone: upload again)
   */
  commit(name: RepositoryName, id: string, digest: ParsedDigest, lastChunk?: Readable, range?: ChunkRange, signal?: AbortSignal, verified?: { size: number }): Promise<BlobInfo> {
    return this.locked(id, async () => {
      let status = await this.status(name, id);
      if (lastChunk) status = await this.appendUnlocked(status, lastChunk, range, signal);
      const data = layout.uploadData(status.id);
      const state = await this.driver.appendedState(data);
      if (verified && state.size !== verified.size) {
        await this.remove(status.id);
        throw new RegistryError('SIZE_INVALID', { message: `the session holds ${state.size} bytes, not the ${verified.size} that were verified; the upload was discarded` });
      }
      const actual = verified ? digest.digest : await this.digestOf(status.id, state, digest.algorithm);
      if (actual !== undefined && actual !== digest.digest) await this.refuse(status.id, digest.digest, actual);
      const watch = await this.blobs.gcGuard.begin();
      if (actual === undefined) {
        // the driver cannot read the bytes back before the commit: it hands them to `verify` first
        let wrong: Digest | undefined;
        const verify = async (bytes: Readable): Promise<void> => {
          const hash = newHasher(digest.algorithm);
          for await (const chunk of bytes) hash.update(chunk as Buffer);
          const got = digestOf(digest.algorithm, hash);
          if (got !== digest.digest) throw new RegistryError('DIGEST_INVALID', { detail: { expected: digest.digest, actual: (wrong = got) } });
        };
        try {
          await this.driver.commitAppended(data, layout.blobData(digest.digest), state, { verify });
        } catch (err) {
          if (wrong !== undefined) await this.refuse(status.id, digest.digest, wrong);
          throw err;
        }
      } else if ((await this.blobs.statStored(digest.digest)) === undefined) {
        await this.driver.commitAppended(data, layout.blobData(digest.digest), state);
      }
      await this.blobs.link(name, digest.digest);
      await this.remove(status.id);
      const kept = await watch.settle({
        digests: [digest.digest],
        intact: () => this.blobs.servable(name, digest.digest),
        undo: () => this.driver.delete(layout.layerLink(name, digest.digest)),
      });
      if (!kept) {
        const byGc = await this.blobs.gcGuard.removedByGc([digest.digest]);
        throw new RegistryError('BLOB_UPLOAD_INVALID', {
          message: `${byGc ? 'a garbage collection removed' : 'a client deleted'} blob ${digest.digest} while this upload was committed: upload it again`,
          detail: removedDetail(digest.digest, byGc, 'upload the blob again (a new upload session)'),
        });
      }
      return { digest: digest.digest, size: state.size };
    });
  }

  /**
   * The bytes session `id` of repository `name` holds so far, as a stream (empty when it holds none).
   * @throws RegistryError BLOB_UPLOAD_UNKNOWN
   */
  reader(name: RepositoryName, id: string): Promise<Readable> {
    return this.locked(id, async () => {
      const status = await this.status(name, id);
      const data = layout.uploadData(status.id);
      const state = await this.driver.appendedState(data);
      return state.size === 0 ? Readable.from([]) : this.driver.appendedReader(data, state);
    });
  }

  /**
   * Cancels the session and deletes its bytes.
   * @throws RegistryError BLOB_UPLOAD_UNKNOWN
   */
  cancel(name: RepositoryName, id: string): Promise<void> {
    return this.locked(id, async () => {
      const status = await this.status(name, id);
      await this.remove(status.id);
    });
  }

  private async appendUnlocked(status: UploadStatus, source: Readable, range: ChunkRange | undefined, signal?: AbortSignal, hashed = true, writeBuffer?: number): Promise<UploadStatus> {
    if (range && range.start !== status.offset) {
      source.resume();
      throw new RegistryError('RANGE_INVALID', {
        message: `chunk starts at byte ${range.start}, but the session holds ${status.offset} bytes: send the chunk starting at ${status.offset}`,
        detail: { offset: status.offset, start: range.start },
        headers: rangeHeaders(status),
      });
    }
    let running = this.#hashes.get(status.id);
    if (running && running.offset !== status.offset) running = undefined;
    if (!running && status.offset === 0 && hashed) running = { hash: newHasher('sha256'), offset: 0 };
    this.#hashes.delete(status.id);
    // without a running hash (a session continued after a restart) the bytes go straight to storage: commit re-hashes them
    const flowing = running ? pipeline(source, new HashingPassThrough(running), () => undefined) : source;
    let written: number;
    try {
      written = await this.driver.append(layout.uploadData(status.id), flowing, { offset: status.offset, signal, writeBuffer, ownChunks: isRequestBody(source) });
    } catch (err) {
      if (!(err instanceof InvalidOffsetError)) throw err;
      // another process appended to this session meanwhile (a client sending chunks concurrently)
      source.resume();
      const now = await this.status(status.name, status.id);
      throw new RegistryError('RANGE_INVALID', {
        message: `another request appended to this session at byte ${status.offset} at the same time; the session now holds ${now.offset} bytes`,
        detail: { offset: now.offset },
        headers: rangeHeaders(now),
      });
    }
    if (running) {
      running.offset += written;
      this.keepHash(status.id, running);
    }
    return { ...status, offset: status.offset + written };
  }

  /**
   * The digest of the bytes `state` names: the running hash when it covers exactly them, else re-hashed
   * from storage; undefined when the driver cannot read them before the commit (it verifies them then).
   */
  private async digestOf(id: layout.UploadId, state: AppendedState, algorithm: ParsedDigest['algorithm']): Promise<Digest | undefined> {
    const running = this.#hashes.get(id);
    this.#hashes.delete(id); // a finished Hash cannot be read twice: a retried commit re-hashes from storage
    if (algorithm === 'sha256' && running && running.offset === state.size) return digestOf('sha256', running.hash);
    let bytes: Readable;
    try {
      bytes = await this.driver.appendedReader(layout.uploadData(id), state);
    } catch (err) {
      if (err instanceof AppendedUnreadableError) return undefined;
      throw err;
    }
    const hash = newHasher(algorithm);
    for await (const chunk of bytes) hash.update(chunk as Buffer);
    return digestOf(algorithm, hash);
  }

  /** Cancels session `id`, whose bytes hash to `actual`, not `expected`. @throws RegistryError DIGEST_INVALID, always */
  private async refuse(id: layout.UploadId, expected: Digest, actual: Digest): Promise<never> {
    await this.remove(id);
    throw new RegistryError('DIGEST_INVALID', {
      message: `the uploaded content's digest is ${actual}, not ${expected}; the upload was discarded`,
      detail: { expected, actual },
    });
  }

  private keepHash(id: string, running: RunningHash): void {
    this.#hashes.set(id, running);
    if (this.#hashes.size > MAX_RUNNING_HASHES) this.#hashes.delete(this.#hashes.keys().next().value!);
  }

  private async remove(id: layout.UploadId): Promise<void> {
    this.#hashes.delete(id);
    await this.driver.delete(layout.upload(id));
  }

  /**
   * Runs `work` after any earlier work on the same session in this process has finished. Across
   * processes the driver's offset check keeps concurrent appends apart (see StorageDriver.append).
   */
  private locked<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.#locks.run(id, work);
  }
}

/** The `Range` header of an upload status: `0-<last byte>`, `0-0` when empty (as Distribution answers). */
export function rangeHeaders(status: Pick<UploadStatus, 'offset'>): { Range: string } {
  return { Range: `0-${Math.max(0, status.offset - 1)}` };
}

function unknownSession(id: string): RegistryError {
  return new RegistryError('BLOB_UPLOAD_UNKNOWN', { detail: { session: id.slice(0, 100) } });
}
