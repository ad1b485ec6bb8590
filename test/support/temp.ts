/** Temporary folders of a test file, removed after its last test, whether its tests passed or not. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const folders: string[] = [];

// registered while the test file that imports this module is collected: runs after that file's tests
// (a process 'exit' handler does not run when vitest ends a worker that still holds a timer or a watcher)
afterAll(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Makes a fresh folder `<os temp>/<prefix>XXXXXX`, removed with everything in it after the test file's last test.
 * @returns the folder's path
 */
export function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}
