/**
 * COPY planning pieces (src/build/copy-plan.ts): Docker's destination rules, wildcard detection and
 * the parent folders every layer carries (with the conventional modes of /tmp, /var/tmp and /root).
 */
import { describe, expect, it } from 'vitest';
import { hasWildcards, normalizeDest, withParents } from '../../src/build/copy-plan.js';
import type { LayerEntry } from '../../src/build/tree.js';

const file = (path: string): LayerEntry => ({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 1 });

describe('COPY planning', () => {
  it('normalizes destinations as Docker does (relative to WORKDIR, a trailing / or . is a folder)', () => {
    expect(normalizeDest('/srv/app', '.')).toEqual({ path: '/srv/app', isDir: true });
    expect(normalizeDest('/srv/app', 'lib/')).toEqual({ path: '/srv/app/lib', isDir: true });
    expect(normalizeDest('/srv', 'run.sh')).toEqual({ path: '/srv/run.sh', isDir: false });
    expect(normalizeDest('/', '/')).toEqual({ path: '/', isDir: true });
    expect(normalizeDest('/srv', '/opt//x/../y')).toEqual({ path: '/opt/y', isDir: false });
  });

  it('detects wildcards, \\ escaping the next character', () => {
    expect(hasWildcards('*.py')).toBe(true);
    expect(hasWildcards('a?b')).toBe(true);
    expect(hasWildcards('[ab].txt')).toBe(true);
    expect(hasWildcards('plain/path.txt')).toBe(false);
    expect(hasWildcards('literal\\*star')).toBe(false);
  });

  it('adds every missing parent folder once, 0755 root, /tmp 1777 and /root 0700', () => {
    const entries = withParents([file('tmp/cache/x'), file('root/.profile'), file('srv/app/a'), file('srv/app/b'), { ...file('srv'), type: 'dir', mode: 0o750, uid: 7, gid: 7, size: 0 }]);
    const dirs = entries.filter((e) => e.type === 'dir').map((e) => `${e.path} ${e.mode.toString(8)} ${e.uid}`);
    expect(dirs.sort()).toEqual(['root 700 0', 'srv 750 7', 'srv/app 755 0', 'tmp 1777 0', 'tmp/cache 755 0']);
  });
});
