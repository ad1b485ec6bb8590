/**
 * The build context: a folder on this machine as a {@link SourceTree}, filtered by `.dockerignore`
 * with Docker's semantics (moby/patternmatcher, through `@balena/dockerignore`, a port of it:
 * patterns cleaned like paths, `*` and `?` within one path element, `**` across any number, a
 * pattern that matches a folder excludes everything under it, `!` exceptions re-include, the last
 * matching pattern wins). `<Dockerfile>.dockerignore` beside the Dockerfile replaces the context's
 * `.dockerignore`, as BuildKit does. Nothing is read until COPY asks: no context tarball, no
 * upload to a daemon.
 */
import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { climbsOut, type SourceTree, type TreeNode } from './tree.js';

/** The ignore rules of a build, and where they came from. */
export interface IgnoreRules {
  /** the file read, or undefined when there is none */
  file?: string;
  patterns: string[];
}

/**
 * Reads the ignore file: `<dockerfile>.dockerignore` when it exists, else `<context>/.dockerignore`.
 * Lines are trimmed; empty lines and `#` comments are skipped (moby/patternmatcher/ignorefile).
 */
export async function readIgnoreRules(contextDir: string, dockerfile: string): Promise<IgnoreRules> {
  for (const file of [join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`), join(contextDir, '.dockerignore')]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const patterns = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    return { file, patterns };
  }
  return { patterns: [] };
}

/** Error of a path that leads out of the context. */
function escapeError(path: string): Error {
  return Object.assign(new Error(`${path} leads out of the build context`), { code: 'ESCAPE' });
}

/** The context folder `root` (absolute, symlinks resolved by the caller) filtered by `rules`. */
export function contextTree(root: string, rules: IgnoreRules): SourceTree {
  // a CommonJS module whose types declare an ES default export
  const ignore = dockerignore as unknown as typeof dockerignore.default;
  const matcher = ignore().add(rules.patterns);
  const hasExceptions = rules.patterns.some((p) => p.startsWith('!'));
  const nodeOf = async (path: string): Promise<TreeNode | undefined> => {
    const abs = join(root, path);
    const st = await lstat(abs, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!st) return undefined;
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    const node: TreeNode = { type, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: type === 'file' ? Number(st.size) : 0 };
    if (type === 'symlink') node.linkname = await readlink(abs);
    if (type === 'file') {
      node.content = { path: abs, size: Number(st.size), dev: Number(st.dev), ino: Number(st.ino), mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    }
    return node;
  };
  return {
    description: 'the build context',
    lstat: nodeOf,
    readdir: async (path) => (await readdir(join(root, path))).sort(),
    excluded: (path) => path !== '' && matcher.ignores(path),
    mayInclude: () => hasExceptions,
    async resolve(path) {
      if (climbsOut(path)) throw escapeError(path);
      // realpath of the longest prefix that exists: a link leading out is refused even when what follows it is missing
      let existing = path;
      const missing: string[] = [];
      let real: string;
      for (;;) {
        try {
          real = await realpath(join(root, existing));
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if ((code !== 'ENOENT' && code !== 'ENOTDIR') || existing === '') throw err;
          missing.unshift(posix.basename(existing));
          existing = posix.dirname(existing) === '.' ? '' : posix.dirname(existing);
        }
      }
      const rel = relative(root, real).split(sep).join('/');
      if (climbsOut(rel) || isAbsolute(rel)) throw escapeError(path);
      return [rel, ...missing].filter((p) => p !== '').join('/');
    },
  };
}
