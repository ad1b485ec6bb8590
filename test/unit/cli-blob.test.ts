/** `wharf blob put` checks its FILE before it speaks to a registry: one clear line for each wrong kind. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobPut } from '../../src/cli/blob.js';
import type { ClientOptions } from '../../src/cli/client-common.js';

describe('wharf blob put FILE', () => {
  const options = {} as ClientOptions;

  it('names a missing file as missing', async () => {
    await expect(blobPut('127.0.0.1:1/team/app', '/nonexistent/layer.tar', options)).rejects.toThrow('/nonexistent/layer.tar: no such file');
  });

  it('says a device or a folder is not a regular file, rather than "no such file"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wharf-blob-put-'));
    try {
      for (const path of ['/dev/null', dir]) {
        await expect(blobPut('127.0.0.1:1/team/app', path, options)).rejects.toThrow(`${path}: not a regular file; save the bytes to a file first and give that file`);
      }
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
