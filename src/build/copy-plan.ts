/**
 * What one COPY (or ADD of local files) puts into its layer, with Docker's rules (moby
 * `builder/dockerfile/copy.go`, `copy_unix.go`):
 * - sources are relative to the tree's root (a leading `/` or `./` is dropped); one that climbs out
 *   (`../x`, or a symlink leading out of the build context) is refused;
 * - a source with `*`, `?` or `[` is matched against every path of the tree with Go's `filepath.Match`
 *   (within one path element; `.dockerignore`d paths never match);
 * - a folder source copies its contents (not the folder itself) into the destination;
 * - a file goes to `dest/<name>` when the destination ends with `/`, is `.`, or is a folder this
 *   build made (WORKDIR, an earlier COPY); else the destination is the file's new name; several
 *   sources need a destination ending with `/`;
 * - a relative destination is relative to WORKDIR;
 * - owners are 0:0 (no names), or `--chown`, or as in the stage for `COPY --from` without
 *   `--chown`; permission bits are the source's (setuid/setgid/sticky kept when present) or
 *   `--chmod`; a symlink inside a copied folder is copied as a symlink.
 * Every layer also holds the folders on the way to its entries ({@link withParents}), as the layers
 * Docker's COPY makes do: unpackers create missing parents themselves, but not all alike (Docker
 * 20.10 makes them mode 0600, which no user but root can enter).
 */
import { posix } from 'node:path';
import picomatch from 'picomatch';
import { climbsOut, relativePath, walk, type LayerEntry, type SourceTree, type TreeNode } from './tree.js';

/** One COPY's inputs, variables already substituted. */
export interface CopyRequest {
  sources: string[];
  dest: string;
  /** the stage's WORKDIR (absolute) */
  workdir: string;
  chown?: { uid: number; gid: number };
  /** `--chmod` bits */
  chmod?: number;
  /** keep the tree's owners (COPY --from without --chown) */
  preserveOwnership?: boolean;
  /** true for paths (absolute) this build made folders */
  isKnownDir: (absPath: string) => boolean;
}

/** A COPY that cannot be done; the caller adds the Dockerfile location. */
export class CopyError extends Error {
  override readonly name = 'CopyError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** True when a source holds a wildcard (Docker's `containsWildcards`: `\` escapes). */
export function hasWildcards(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/** The absolute destination, keeping a trailing `/` (Docker's `normalizeDest`). */
export function normalizeDest(workdir: string, dest: string): { path: string; isDir: boolean } {
  const endsInSlash = dest.endsWith('/') || dest === '.' || dest.endsWith('/.');
  const path = posix.isAbsolute(dest) ? posix.normalize(dest) : posix.join('/', workdir, dest);
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return { path: clean, isDir: endsInSlash || clean === '/' };
}

/** A source found in the tree: the name it was asked by and the node (symlinks followed). */
interface Match {
  name: string;
  path: string;
  node: TreeNode;
}

async function resolveSource(tree: SourceTree, path: string, asked: string): Promise<Match> {
  let real: string;
  try {
    real = await tree.resolve(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESCAPE') {
      throw new CopyError(`source "${asked}" leads out of ${tree.description}`, 'copy only files inside the build context (a symlink to a file outside it does not count)');
    }
    throw err;
  }
  const node = await tree.lstat(real);
  if (!node || node.type === 'symlink' || node.type === 'other' || tree.excluded(real)) {
    const excluded = node && tree.excluded(real) ? ' (it is excluded by .dockerignore)' : '';
    throw new CopyError(`source "${asked}" not found in ${tree.description}${excluded}`, 'check the path, which is relative to the root of the context');
  }
  return { name: posix.basename(path) || posix.basename(real), path: real, node };
}

/** Expands the sources of a request to the nodes they name. @throws CopyError */
export async function findSources(tree: SourceTree, sources: readonly string[]): Promise<Match[]> {
  const found: Match[] = [];
  for (const source of sources) {
    const path = relativePath(source);
    if (climbsOut(path)) throw new CopyError(`source "${source}" is outside ${tree.description}`, 'copy only paths inside the build context');
    if (!hasWildcards(path)) {
      found.push(await resolveSource(tree, path, source));
      continue;
    }
    const isMatch = picomatch(path, { dot: true, nobrace: true, noextglob: true, noglobstar: true, nonegate: true });
    const matches: Match[] = [];
    for await (const { path: candidate } of walk(tree, '')) {
      if (isMatch(candidate)) matches.push(await resolveSource(tree, candidate, candidate));
    }
    if (matches.length === 0) throw new CopyError(`no file in ${tree.description} matches "${source}"`, 'check the pattern (wildcards match within one folder level)');
    found.push(...matches);
  }
  return found;
}

/**
 * The layer entries of a COPY, in no particular order (the layer writer sorts them).
 * @throws CopyError for a missing source, one outside the tree, or several sources to a file destination
 */
export async function planCopy(tree: SourceTree, request: CopyRequest): Promise<LayerEntry[]> {
  const matches = await findSources(tree, request.sources);
  const dest = normalizeDest(request.workdir, request.dest);
  const destIsDir = dest.isDir || request.isKnownDir(dest.path);
  if (matches.length > 1 && !dest.isDir) {
    throw new CopyError(`with more than one source (${matches.length} here) the destination must be a folder ending with /`, `write ${request.dest}/`);
  }
  const entries: LayerEntry[] = [];
  const owner = (node: TreeNode) => request.chown ?? (request.preserveOwnership ? { uid: node.uid, gid: node.gid } : { uid: 0, gid: 0 });
  const entry = (absPath: string, node: TreeNode): LayerEntry | undefined => {
    if (node.type === 'other') return undefined;
    const e: LayerEntry = { path: relativePath(absPath), type: node.type, mode: node.mode, ...owner(node), size: node.type === 'file' ? node.size : 0 };
    if (node.type === 'symlink') {
      e.linkname = node.linkname!;
      e.mode = 0o777;
    } else if (request.chmod !== undefined) e.mode = request.chmod;
    if (node.content) e.content = node.content;
    return e;
  };
  for (const match of matches) {
    if (match.node.type === 'dir') {
      if (request.chown) entries.push({ path: relativePath(dest.path), type: 'dir', mode: request.chmod ?? 0o755, ...request.chown, size: 0 });
      for await (const { path, node } of walk(tree, match.path)) {
        const made = entry(posix.join(dest.path, posix.relative(match.path === '' ? '.' : match.path, path)), node);
        if (made) entries.push(made);
      }
      continue;
    }
    const target = destIsDir ? posix.join(dest.path, match.name) : dest.path;
    if (request.chown && destIsDir) entries.push({ path: relativePath(dest.path), type: 'dir', mode: 0o755, ...request.chown, size: 0 });
    const made = entry(target, match.node);
    if (made) entries.push(made);
  }
  return dedupe(entries.filter((e) => e.path !== ''));
}

/** Keeps the last entry of each path (a later source overwrites an earlier one, as on disk). */
export function dedupe(entries: LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()];
}

/**
 * The modes of the folders whose mode is conventionally not 0755 (FHS): written with these when a
 * layer needs them on the way to its files, so a layer never makes /tmp unwritable.
 */
export const CONVENTIONAL_MODES: Readonly<Record<string, number>> = { tmp: 0o1777, 'var/tmp': 0o1777, root: 0o700 };

/**
 * `entries` plus a folder entry for every parent that is not an entry already: mode 0755 (or the
 * conventional mode of /tmp, /var/tmp, /root), owner 0:0, as jib and ko write the parents of their
 * files. A layer is then complete on its own, whatever unpacks it.
 */
export function withParents(entries: readonly LayerEntry[]): LayerEntry[] {
  const paths = new Set(entries.map((e) => e.path));
  const parents: LayerEntry[] = [];
  for (const e of entries) {
    for (let dir = posix.dirname(e.path); dir !== '.' && dir !== '' && !paths.has(dir); dir = posix.dirname(dir)) {
      paths.add(dir);
      parents.push({ path: dir, type: 'dir', mode: CONVENTIONAL_MODES[dir] ?? 0o755, uid: 0, gid: 0, size: 0 });
    }
  }
  return [...parents, ...entries];
}
