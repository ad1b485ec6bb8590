/**
 * Writes of the filesystem driver into a tree of folders that exist only while they hold an object:
 * a delete or a move removes the folders it leaves empty ({@link pruneEmpty}), so a writer may find
 * its parent folder gone and must create it again ({@link inParent}). Visible objects are written
 * atomically: a temporary file (`.wharf-tmp-*`, which listings hide and the GC sweeps when a killed
 * process left one) in the same folder, then rename(2) ({@link writeAtomically}).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { errno } from './file-trees.js';

/** The name prefix of the temporary files of atomic writes. */
export const TEMP_PREFIX = '.wharf-tmp-';
/** How often a write retries after a concurrent delete removed its (empty) parent folder. */
export const PARENT_RETRIES = 5;

/**
 * Runs `write` in `target`'s parent folder: first as it is (the folder usually exists: a mkdir
 * would cost a thread-pool round trip per write), then, on ENOENT, after creating the parent folders.
 * A concurrent delete or move may remove an empty parent between the mkdir and the write (ENOENT),
 * or while the recursive mkdir itself walks the path (Node then reports ENOTDIR from mkdir, seen
 * under load in CI): create it again and retry. A file genuinely in the way fails the same after the
 * last attempt.
 * @throws the error of the last attempt
 */
export async function inParent<T>(target: string, write: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (attempt > 0) await fs.mkdir(dirname(target), { recursive: true });
      return await write();
    } catch (err) {
      const code = errno(err);
      const lostRace = code === 'ENOENT' || (code === 'ENOTDIR' && (err as NodeJS.ErrnoException).syscall === 'mkdir');
      if (!lostRace || attempt >= PARENT_RETRIES) throw err;
    }
  }
}

/**
 * Removes `dir` and its ancestors below `root` (an absolute, resolved path) for as long as they are empty; never throws.
 * @returns the folders removed
 */
export async function pruneEmpty(root: string, dir: string): Promise<string[]> {
  const inside = root.endsWith(sep) ? root : root + sep;
  const removed: string[] = [];
  while (dir.startsWith(inside) && dir.length > inside.length) {
    try {
      await fs.rmdir(dir);
    } catch {
      break; // not empty (ENOTEMPTY), already gone, or not a folder: someone else's business
    }
    removed.push(dir);
    dir = dirname(dir);
  }
  return removed;
}

/**
 * Writes a temporary file beside `target` and renames it over `target`. A recursive delete of the
 * folder between the two (a GC run ending removes its touch markers' folder while a push writes one)
 * takes the temporary file with it: the write then starts again in a new folder, as a write that
 * came after the delete. On failure the folders left empty below `root` are removed.
 * @throws the file system's error once the retries are spent
 */
export async function writeAtomically(root: string, target: string, content: Buffer | string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const temp = join(dirname(target), TEMP_PREFIX + randomUUID());
    try {
      await inParent(target, () => fs.writeFile(temp, content));
      await fs.rename(temp, target); // the temporary file keeps the folder from being pruned meanwhile
      return;
    } catch (err) {
      await fs.rm(temp, { force: true });
      if (errno(err) === 'ENOENT' && attempt < PARENT_RETRIES) continue;
      await pruneEmpty(root, dirname(target));
      throw err;
    }
  }
}

/**
 * Renames `from` to `to`, creating `to`'s parent folders as {@link inParent} does. rename(2)
 * replaces a file or an empty folder only: a folder at `to`, or a file in a folder's way, is removed
 * first.
 * @throws the file system's error (ENOENT when `from` is gone)
 */
export async function renameReplacing(from: string, to: string): Promise<void> {
  await inParent(to, async () => {
    try {
      await fs.rename(from, to);
    } catch (err) {
      if (!['ENOTEMPTY', 'EEXIST', 'EISDIR', 'ENOTDIR'].includes(errno(err) ?? '')) throw err;
      await fs.rm(to, { recursive: true, force: true });
      await fs.rename(from, to);
    }
  });
}
