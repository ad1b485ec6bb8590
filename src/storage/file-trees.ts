/**
 * Walks over trees of files for the filesystem driver: removing a folder with everything under it,
 * and sweeping the temporary files a killed process left. Both bound what they start at once (a
 * folder of 100,000 tags is 100,000 entries) and take a file removed meanwhile as removed.
 */
import { unlink, type Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/** `unlink(2)` through the callback API: one thread-pool round trip, no FileHandle. */
export const unlinkFile = promisify(unlink);

/** The `code` of a Node system error (`ENOENT`...), or undefined for anything else. */
export function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** How many files of one folder a recursive delete unlinks at once. */
const UNLINKS_IN_FLIGHT = 16;

/**
 * Removes folder `dir` and everything under it: the files of each folder {@link UNLINKS_IN_FLIGHT}
 * at a time, sub-folders one after the other, then the folder. (`fs.rm` starts one unlink per entry
 * at once: on a folder of 100,000 tags, 100,000 requests and their memory.) An absent `dir` is no
 * error; a file at `dir` is unlinked. A concurrent write that puts a new object into a folder being
 * removed (ENOTEMPTY) makes it start again, up to `attempts` times in all.
 * @returns false when `dir` is below a file (such a path does not exist), else true
 * @throws ENOTEMPTY when concurrent writes outlast the attempts, or any other error of the file system
 */
export async function removeTree(dir: string, attempts = 1): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await removeOnce(dir);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOTDIR') return false;
      if (errno(err) !== 'ENOTEMPTY' || attempt >= attempts) throw err;
    }
  }
}

async function removeOnce(dir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    if (errno(err) === 'ENOTDIR') return ignoreAbsent(unlinkFile(dir));
    throw err;
  }
  const files = entries.filter((e) => !e.isDirectory());
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) await ignoreAbsent(unlinkFile(join(dir, files[next++]!.name)));
  };
  await Promise.all(Array.from({ length: Math.min(UNLINKS_IN_FLIGHT, files.length) }, worker));
  for (const e of entries) if (e.isDirectory()) await removeOnce(join(dir, e.name));
  await ignoreAbsent(fs.rmdir(dir));
}

/** `operation`, with ENOENT (removed meanwhile) as success. */
async function ignoreAbsent(operation: Promise<void>): Promise<void> {
  try {
    await operation;
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

/** What {@link sweepTemporaries} looks for, and how it reads and tidies up. */
export interface SweepOptions {
  /** the name prefix of temporary files */
  prefix: string;
  /** only files last modified before this */
  olderThan: Date;
  /** count, remove nothing */
  dryRun: boolean;
  /** lists a folder with its entries' types (the driver's blocking or asynchronous readdir) */
  readdir: (dir: string) => Promise<Dirent[]>;
  /** called with a file's folder after the file was removed (the driver prunes empty folders) */
  removed: (dir: string) => Promise<void>;
  /** folders (absolute paths) not to read, and the temporary files (absolute paths) found in them by a listing already made */
  listed?: { folders: { has(dir: string): boolean }; temporaries: readonly string[] };
}

/** How many folders a sweep of temporary files reads at once (libuv's pool runs 4: twice that keeps each busy on a cold disk). */
export const FOLDERS_IN_FLIGHT = 8;

/**
 * Calls `visit` on folder `root` and on every folder a visit returns, up to `inFlight` visits at once.
 * The folders waiting are kept on a stack (depth first): memory holds the folders listed but not yet
 * visited, not the tree.
 * @throws the first error of a visit, once the visits in flight have ended (no other is started)
 */
export async function forEachFolder(root: string, inFlight: number, visit: (dir: string) => Promise<readonly string[]>): Promise<void> {
  const pending = [root];
  let running = 0;
  let failure: { error: unknown } | undefined;
  let wake = (): void => undefined;
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const worker = async (): Promise<void> => {
    while (!failure) {
      const dir = pending.pop();
      if (dir === undefined) {
        if (running === 0) return;
        await changed; // a visit in flight may return folders
        continue;
      }
      running += 1;
      try {
        for (const folder of await visit(dir)) pending.push(folder);
      } catch (error) {
        failure ??= { error };
      } finally {
        running -= 1;
        const woken = wake;
        changed = new Promise<void>((resolve) => (wake = resolve));
        woken();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, worker));
  if (failure) throw failure.error;
}

/**
 * Finds, and unless `dryRun` removes, every file named `prefix*` under `root` older than `olderThan`,
 * {@link FOLDERS_IN_FLIGHT} folders at a time (the folders in `listed` are not read: their temporary
 * files are those `listed` names, looked at as many at a time). An unreadable folder or a file gone
 * meanwhile is skipped. (One folder after the other, the server's purge at 10,000 repositories waited
 * on 50,000 reads in turn: most of its dry run's wall time on a cold disk, docs/performance.md.)
 * @returns how many such files there were, and their bytes
 */
export async function sweepTemporaries(root: string, options: SweepOptions): Promise<{ count: number; bytes: number }> {
  const found = { count: 0, bytes: 0 };
  const consider = async (full: string): Promise<void> => {
    const info = await fs.stat(full).catch(() => undefined);
    if (!info?.isFile() || info.mtime >= options.olderThan) return;
    if (!options.dryRun) {
      await fs.rm(full, { force: true });
      await options.removed(dirname(full));
    }
    found.count += 1;
    found.bytes += info.size;
  };
  const skip = options.listed?.folders;
  await forEachFolder(root, FOLDERS_IN_FLIGHT, async (dir) => {
    const entries = await options.readdir(dir).catch((): Dirent[] => []);
    const folders: string[] = [];
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!skip?.has(full)) folders.push(full);
      } else if (entry.name.startsWith(options.prefix)) await consider(full);
    }
    return folders;
  });
  const temporaries = options.listed?.temporaries ?? [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < temporaries.length) await consider(temporaries[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(FOLDERS_IN_FLIGHT, temporaries.length) }, worker));
  return found;
}
