/** `wharf --version`: the version of the package this command belongs to (package.json's `version`). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `version` of the nearest package.json above this module (found from `src/cli/` and from
 * `dist/src/cli/`, so it works from a clone, `npm install -g .` and `npx`).
 * @throws Error when no package.json is found
 */
export function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'wharf' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one folder up
    }
    if (dirname(dir) === dir) throw new Error('cannot find the package.json of wharf');
  }
}
