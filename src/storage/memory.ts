/**
 * The in-memory driver (config `storage.inmemory`): for tests and throw-away registries.
 * Content lives in this process only, so it does not survive a restart nor serve several processes.
 */
import { Readable } from 'node:stream';
import {
  checkPath,
  type AppendedState,
  type CommitOptions,
  type AppendOptions,
  type FileInfo,
  type ReadRange,
  type StorageDriver,
} from './driver.js';
import { InvalidOffsetError, PathNotFoundError } from './driver-errors.js';
import { commitAppendedInPlace, readAppendedInPlace } from './appended-in-place.js';
import { KeyedQueue } from './keyed-queue.js';

/** Bytes per chunk of a reader's stream. */
const READ_CHUNK = 64 * 1024;

interface MemoryObject {
  chunks: Buffer[];
  size: number;
  modTime: Date;
}

/** A {@link StorageDriver} over a Map of paths to byte chunks. */
export class MemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  readonly #objects = new Map<string, MemoryObject>();
  readonly #appends = new KeyedQueue();

  private object(path: string): MemoryObject {
    checkPath(path, this.name);
    const o = this.#objects.get(path);
    if (!o) throw new PathNotFoundError(path, this.name);
    return o;
  }

  private children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix));
  }

  async stat(path: string): Promise<FileInfo> {
    checkPath(path, this.name);
    const o = this.#objects.get(path);
    if (o) return { path, size: o.size, modTime: o.modTime, isDir: false };
    const inside = this.children(path);
    if (inside.length === 0) throw new PathNotFoundError(path, this.name);
    const newest = Math.max(...inside.map((k) => this.#objects.get(k)!.modTime.getTime()));
    return { path, size: 0, modTime: new Date(newest), isDir: true };
  }

  async getContent(path: string): Promise<Buffer> {
    return Buffer.concat(this.object(path).chunks);
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    checkPath(path, this.name);
    const bytes = Buffer.from(content);
    this.#objects.set(path, { chunks: [bytes], size: bytes.length, modTime: new Date() });
  }

  async reader(path: string, range: ReadRange = { offset: 0 }): Promise<Readable> {
    const o = this.object(path);
    if (range.offset > o.size) throw new InvalidOffsetError(path, range.offset, this.name);
    const all = Buffer.concat(o.chunks);
    const end = range.length === undefined ? all.length : Math.min(all.length, range.offset + range.length);
    // in chunks, as a file or an object streams, so back-pressure holds (a cut download stops early)
    const chunks: Buffer[] = [];
    for (let at = range.offset; at < end; at += READ_CHUNK) chunks.push(all.subarray(at, Math.min(end, at + READ_CHUNK)));
    return Readable.from(chunks);
  }

  async appendedState(path: string): Promise<AppendedState> {
    checkPath(path, this.name);
    return { size: this.#objects.get(path)?.size ?? 0, token: '' };
  }

  /** Appends in place; appends to one path run one at a time, so the offset check holds. */
  append(path: string, source: Readable, options: AppendOptions): Promise<number> {
    checkPath(path, this.name);
    return this.#appends.run(path, async () => {
      const { signal, offset } = options;
      signal?.throwIfAborted();
      if ((this.#objects.get(path)?.size ?? 0) !== offset) throw new InvalidOffsetError(path, offset, this.name);
      let o = this.#objects.get(path);
      if (!o) {
        o = { chunks: [], size: 0, modTime: new Date() };
        this.#objects.set(path, o);
      }
      // An abort must end the append even while the source sends nothing: destroying the source
      // rejects the pending iteration with the abort reason.
      const onAbort = (): void => void source.destroy(signal?.reason as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      let written = 0;
      try {
        for await (const chunk of source) {
          signal?.throwIfAborted();
          const b = Buffer.from(chunk as Uint8Array);
          o.chunks.push(b);
          o.size += b.length;
          o.modTime = new Date();
          written += b.length;
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      return written;
    });
  }

  appendedReader(path: string, state: AppendedState): Promise<Readable> {
    return readAppendedInPlace(this, path, state);
  }

  /** Moves the appended object to `dest` ({@link commitAppendedInPlace}). */
  commitAppended(path: string, dest: string, state: AppendedState, options: CommitOptions = {}): Promise<void> {
    return commitAppendedInPlace(this, path, dest, state, options);
  }

  async move(source: string, dest: string): Promise<void> {
    checkPath(source, this.name);
    checkPath(dest, this.name);
    const single = this.#objects.get(source);
    const inside = single ? [] : this.children(source);
    if (!single && inside.length === 0) throw new PathNotFoundError(source, this.name);
    if (source === dest) return;
    await this.delete(dest); // replace whatever is there, a file or a whole directory
    if (single) {
      this.#objects.delete(source);
      this.#objects.set(dest, single);
      return;
    }
    for (const k of inside) {
      this.#objects.set(dest + k.slice(source.length), this.#objects.get(k)!);
      this.#objects.delete(k);
    }
  }

  async list(path: string): Promise<string[]> {
    checkPath(path, this.name);
    const prefix = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const k of this.children(path)) names.add(k.slice(prefix.length).split('/')[0]!);
    return [...names].sort();
  }

  async delete(path: string): Promise<void> {
    checkPath(path, this.name);
    this.#objects.delete(path);
    for (const k of this.children(path)) this.#objects.delete(k);
  }
}
