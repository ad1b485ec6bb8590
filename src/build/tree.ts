/**
 * The file trees COPY and ADD read from (the build context, an earlier stage, an image), behind one
 * small interface, and what a layer is made of (`LayerEntry`). Paths are relative, POSIX, clean,
 * without leading or trailing `/` (`''` is the root).
 */
import { posix } from 'node:path';

/** Where a regular file's bytes are on this machine, and the identity they were read with. */
export interface FileContent {
  /** absolute path of the bytes */
  path: string;
  /** bytes */
  size: number;
  dev: number;
  ino: number;
  /** nanoseconds since the epoch (as `stat` reports them) */
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** One node of a source tree. */
export interface TreeNode {
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** permission bits with setuid, setgid and sticky (`& 0o7777`) */
  mode: number;
  uid: number;
  gid: number;
  /** a symlink's target as stored */
  linkname?: string;
  /** bytes (files) */
  size: number;
  content?: FileContent;
}

/** A tree COPY and ADD read from. */
export interface SourceTree {
  /** for messages: `the build context`, `stage "build"`, `image busybox:1.36` */
  readonly description: string;
  /** The node at `path` without following a final symlink, or undefined. */
  lstat(path: string): Promise<TreeNode | undefined>;
  /** The names in folder `path`, sorted. */
  readdir(path: string): Promise<string[]>;
  /** True when `path` is left out of the tree (.dockerignore); descend anyway when `mayInclude` says so. */
  excluded(path: string): boolean;
  /** True when something under the excluded folder `path` may still be included (a `!` exception). */
  mayInclude(path: string): boolean;
  /**
   * `path` with every symlink followed, within the tree.
   * @throws Error with code `ESCAPE` when it leads out of the tree (the build context refuses that)
   */
  resolve(path: string): Promise<string>;
}

/** One entry of a layer: a node of a tree at a path of the image. */
export interface LayerEntry extends Omit<TreeNode, 'type'> {
  /** relative path in the image, e.g. `app/main.py` */
  path: string;
  type: 'file' | 'dir' | 'symlink';
}

/**
 * Cleans a path as Go's `path.Clean` does and drops leading `/` and `./`, so it is relative to a
 * tree's root; `..` that would climb above the root is kept as a leading `..` (the caller decides).
 */
export function relativePath(path: string): string {
  const cleaned = posix.normalize(path.replace(/^\/+/, '') || '.').replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned;
}

/** True when relative `path` climbs out of its root (`..`, `../x`). */
export function climbsOut(path: string): boolean {
  return path === '..' || path.startsWith('../');
}

/** Joins relative paths (`''` is the root). */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

/** Walks the tree under `dir` (not included), parents before children, skipping excluded paths. */
export async function* walk(tree: SourceTree, dir: string): AsyncGenerator<{ path: string; node: TreeNode }> {
  for (const name of await tree.readdir(dir)) {
    const path = joinPath(dir, name);
    const node = await tree.lstat(path);
    if (!node) continue;
    const excluded = tree.excluded(path);
    if (!excluded) yield { path, node };
    if (node.type === 'dir' && (!excluded || tree.mayInclude(path))) yield* walk(tree, path);
  }
}

/**
 * Follows symlinks in `path` inside a tree whose symlinks are relative to its own root (an image):
 * absolute targets start at the root and `..` stops there, as Docker's `FollowSymlinkInScope`.
 * @param lstat the tree's lstat
 */
export async function resolveInScope(path: string, lstat: (p: string) => Promise<TreeNode | undefined>): Promise<string> {
  let done = '';
  let rest = path.split('/').filter((p) => p !== '' && p !== '.');
  for (let hops = 0; rest.length > 0; ) {
    const name = rest.shift()!;
    if (name === '..') {
      done = posix.dirname(done) === '.' ? '' : posix.dirname(done);
      continue;
    }
    const next = joinPath(done, name);
    const node = await lstat(next);
    if (node?.type === 'symlink' && node.linkname !== undefined) {
      if (++hops > 255) throw Object.assign(new Error(`too many levels of symbolic links at ${next}`), { code: 'ELOOP' });
      const target = node.linkname.split('/').filter((p) => p !== '' && p !== '.');
      if (node.linkname.startsWith('/')) done = '';
      rest = [...target, ...rest];
      continue;
    }
    done = next;
  }
  return done;
}
