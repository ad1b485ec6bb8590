/**
 * `wharf push SOURCE` and `wharf copy docker-archive:SOURCE ...` read a tarball in several passes, so
 * a pipe (`docker save app | wharf push /dev/stdin ...`) is refused at once with what to do, not with
 * Node's "ESPIPE: invalid seek" after the first pass (src/client/image/locations.ts `openSource`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClientError } from '../../src/client/errors.js';
import { openSource, parseLocation } from '../../src/client/image/locations.js';

const dir = mkdtempSync(join(tmpdir(), 'wharf-source-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('an image source that is a pipe', () => {
  it.each(['PATH', 'docker-archive:PATH', 'oci-archive:PATH'])('%s: INVALID_IMAGE saying to save the tarball to a file first', async (form) => {
    const fifo = join(dir, `fifo-${form.split(':')[0]}`);
    execFileSync('mkfifo', [fifo]);
    const err = await openSource(undefined as never, parseLocation(form.replace('PATH', fifo), true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect(err).toMatchObject({ code: 'INVALID_IMAGE', message: `${fifo}: a pipe or device, not a file: a tarball is read in several passes, not as a stream` });
    expect((err as ClientError).hint).toMatch(/save it to a file first/);
  });
});
