/**
 * A file tree held as metadata in memory, file bytes in files of a scratch folder: what an image's
 * layers unpack to (for `COPY --from=IMAGE` and `COPY --from=STAGE`), and what `ADD` of a local tar
 * extracts. Layers are applied as the image spec's "Applying Changesets" says: `.wh.NAME` deletes
 * NAME, `.wh..wh..opq` empties its folder of what earlier layers put there, a non-folder replaces a
 * folder with everything under it; hard links become copies of their target.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { joinPath, relativePath, resolveInScope, type LayerEntry, type SourceTree, type TreeNode } from './tree.js';

/** A tree in memory; see the module comment. */
export class MemoryTree implements SourceTree {
  readonly #nodes = new Map<string, TreeNode>([['', { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 }]]);
  readonly #children = new Map<string, Set<string>>([['', new Set()]]);
  #files = 0;

  constructor(
    readonly description: string,
    /** where file bytes are written */
    readonly scratch: string,
  ) {}

  async lstat(path: string): Promise<TreeNode | undefined> {
    return this.#nodes.get(path);
  }

  async readdir(path: string): Promise<string[]> {
    return [...(this.#children.get(path) ?? [])].sort();
  }

  excluded(): boolean {
    return false;
  }

  mayInclude(): boolean {
    return false;
  }

  resolve(path: string): Promise<string> {
    return resolveInScope(path, async (p) => this.#nodes.get(p));
  }

  /** Sets `path` to `node`, replacing what was there (a folder keeps its children only when replaced by a folder). */
  set(path: string, node: TreeNode): void {
    if (path === '') {
      if (node.type === 'dir') this.#nodes.set('', node);
      return;
    }
    const existing = this.#nodes.get(path);
    if (existing && !(existing.type === 'dir' && node.type === 'dir')) this.remove(path);
    this.#ensureParent(path);
    this.#nodes.set(path, node);
    this.#children.get(parentOf(path))!.add(posix.basename(path));
    if (node.type === 'dir' && !this.#children.has(path)) this.#children.set(path, new Set());
  }

  /** Removes `path` and everything under it. */
  remove(path: string): void {
    for (const child of this.#children.get(path) ?? []) this.remove(joinPath(path, child));
    this.#children.delete(path);
    this.#nodes.delete(path);
    this.#children.get(parentOf(path))?.delete(posix.basename(path));
  }

  /** Applies this build's own layer entries (COPY results of a stage). */
  applyEntries(entries: readonly LayerEntry[]): void {
    for (const e of entries) this.set(e.path, { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}), ...(e.content ? { content: e.content } : {}) });
  }

  /**
   * Applies one layer tar from `source`.
   * @param o.gzip the bytes are gzip-compressed; o.whiteouts: honour `.wh.` entries (image layers, not ADD's archives)
   */
  async applyTar(source: Readable, o: { gzip: boolean; whiteouts: boolean; signal?: AbortSignal }): Promise<void> {
    const { whiteouts, signal } = o;
    const extract = tar.extract();
    const addedHere = new Set<string>();
    const consume = (async () => {
      for await (const entry of extract) {
        const h = entry.header;
        const path = relativePath(h.name);
        const base = posix.basename(path);
        if (path.startsWith('..')) {
          entry.resume();
          continue;
        }
        if (whiteouts && base === '.wh..wh..opq') {
          const dir = parentOf(path);
          for (const child of [...(this.#children.get(dir) ?? [])]) if (!addedHere.has(joinPath(dir, child))) this.remove(joinPath(dir, child));
          entry.resume();
          continue;
        }
        if (whiteouts && base.startsWith('.wh.')) {
          this.remove(joinPath(parentOf(path), base.slice(4)));
          entry.resume();
          continue;
        }
        addedHere.add(path);
        const meta = { mode: (h.mode ?? 0o644) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0 };
        if (h.type === 'file' || h.type === 'contiguous-file') {
          const file = join(this.scratch, `f${++this.#files}`);
          await pipeline(entry, createWriteStream(file), { signal });
          const st = await stat(file, { bigint: true });
          const size = Number(st.size);
          this.set(path, { type: 'file', ...meta, size, content: { path: file, size, dev: Number(st.dev), ino: Number(st.ino), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs } });
          continue;
        }
        entry.resume();
        if (h.type === 'directory') this.set(path, { type: 'dir', ...meta, size: 0 });
        else if (h.type === 'symlink') this.set(path, { type: 'symlink', ...meta, size: 0, linkname: h.linkname ?? '' });
        else if (h.type === 'link') {
          const target = this.#nodes.get(relativePath(h.linkname ?? ''));
          if (target?.type === 'file') this.set(path, { ...target, ...meta });
        } else this.set(path, { type: 'other', ...meta, size: 0 });
      }
    })();
    const input = o.gzip ? pipeline(source, createGunzip(), extract, { signal }) : pipeline(source, extract, { signal });
    await Promise.all([input, consume]);
  }

  #ensureParent(path: string): void {
    const parent = parentOf(path);
    if (this.#nodes.get(parent)?.type === 'dir') return;
    this.set(parent, { type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0 });
  }
}

function parentOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}
