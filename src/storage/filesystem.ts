/**
 * The filesystem driver (config `storage.filesystem.rootdirectory`): every storage path is a file
 * under the root directory. Visible writes are atomic (a temporary file in the same folder, then
 * rename(2)); appends go straight to the file.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  checkPath,
  InvalidOffsetError,
  PathNotFoundError,
  type FileInfo,
  type ReadRange,
  type StorageDriver,
} from './driver.js';

const TEMP_PREFIX = '.wharf-tmp-';
/** Read buffer size in bytes for blob streams. */
const READ_CHUNK = 1024 * 1024;

/** A {@link StorageDriver} over a local directory. */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly root: string;

  /** @param rootDirectory created on first write when absent */
  constructor(rootDirectory: string) {
    this.root = resolve(rootDirectory);
  }

  private full(path: string): string {
    checkPath(path, this.name);
    return join(this.root, path);
  }

  private notFound(err: unknown, path: string): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? new PathNotFoundError(path, this.name) : err;
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const s = await fs.stat(this.full(path));
      return { path, size: s.isDirectory() ? 0 : s.size, modTime: s.mtime, isDir: s.isDirectory() };
    } catch (err) {
      throw this.notFound(err, path);
    }
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.full(path));
    } catch (err) {
      throw this.notFound(err, path);
    }
  }

  async putContent(path: string, content: Buffer | string): Promise<void> {
    const target = this.full(path);
    const temp = join(dirname(target), TEMP_PREFIX + randomUUID());
    await fs.mkdir(dirname(target), { recursive: true });
    try {
      await fs.writeFile(temp, content);
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
  }

  async reader(path: string, range: ReadRange = { offset: 0 }): Promise<Readable> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.full(path), 'r');
    } catch (err) {
      throw this.notFound(err, path);
    }
    try {
      const { size } = await handle.stat();
      if (range.offset > size) throw new InvalidOffsetError(path, range.offset, this.name);
      if (range.length === 0 || range.offset === size) {
        await handle.close();
        return Readable.from([]);
      }
      const end = range.length === undefined ? undefined : range.offset + range.length - 1;
      return handle.createReadStream({ start: range.offset, end, highWaterMark: READ_CHUNK, autoClose: true });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async append(path: string, source: Readable, options: { signal?: AbortSignal } = {}): Promise<number> {
    const target = this.full(path);
    await fs.mkdir(dirname(target), { recursive: true });
    const out = createWriteStream(target, { flags: 'a', highWaterMark: READ_CHUNK });
    try {
      await pipeline(source, out, { signal: options.signal });
    } finally {
      if (!out.closed) await new Promise<void>((done) => out.close(() => done()));
    }
    return out.bytesWritten;
  }

  async move(source: string, dest: string): Promise<void> {
    const from = this.full(source);
    const to = this.full(dest);
    await fs.mkdir(dirname(to), { recursive: true });
    try {
      await fs.rename(from, to);
    } catch (err) {
      throw this.notFound(err, source);
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await fs.readdir(this.full(path));
      return names.filter((n) => !n.startsWith(TEMP_PREFIX)).sort();
    } catch (err) {
      const e = this.notFound(err, path);
      if (e instanceof PathNotFoundError) return [];
      throw e;
    }
  }

  async delete(path: string): Promise<void> {
    await fs.rm(this.full(path), { recursive: true, force: true });
  }
}
