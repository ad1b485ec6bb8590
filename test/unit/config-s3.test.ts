import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validate } from '../../src/config/load.js';
import { configErrorOf } from '../support/config.js';

const MiB = 1024 * 1024;
const EXAMPLE = join(import.meta.dirname, '../../config/examples/s3.yaml');

describe('storage.s3 configuration', () => {
  it('loads config/examples/s3.yaml with its defaults', () => {
    expect(loadConfig(EXAMPLE, {}).storage.s3).toEqual({
      bucket: 'my-registry',
      region: 'us-east-1',
      forcepathstyle: false,
      rootdirectory: '/registry',
      chunksize: 10 * MiB,
      maxparts: 10_000,
      redirect: false,
      redirectexpiry: 20 * 60 * 1000,
    });
  });

  it('takes every key from the environment, replacing the default filesystem storage', () => {
    const config = loadConfig(undefined, {
      WHARF_STORAGE_S3_BUCKET: 'b-from-env',
      WHARF_STORAGE_S3_ENDPOINT: 'http://127.0.0.1:9000',
      WHARF_STORAGE_S3_FORCEPATHSTYLE: 'true',
      WHARF_STORAGE_S3_ACCESSKEY: 'key',
      WHARF_STORAGE_S3_SECRETKEY: 'secret',
      WHARF_STORAGE_S3_CHUNKSIZE: String(8 * MiB),
      WHARF_STORAGE_S3_REDIRECT: 'true',
      WHARF_STORAGE_S3_REDIRECTEXPIRY: '5m',
      WHARF_STORAGE_S3_MAXPARTS: '1000',
    });
    expect(config.storage.filesystem).toBeUndefined();
    expect(config.storage.s3).toMatchObject({ bucket: 'b-from-env', endpoint: 'http://127.0.0.1:9000', forcepathstyle: true, accesskey: 'key', chunksize: 8 * MiB, maxparts: 1000, redirect: true, redirectexpiry: 300_000 });
  });

  it.each([
    [{ bucket: 'ab' }, /"storage\.s3\.bucket" = "ab".*at least 3 characters/],
    [{ bucket: 'abc', chunksize: 1024 }, /"storage\.s3\.chunksize" = 1024.*at least 5 MiB/],
    [{ bucket: 'abc', maxparts: 20_000 }, /"storage\.s3\.maxparts" = 20000.*at most 10,000 parts/],
    [{ bucket: 'abc', accesskey: 'only-one' }, /"storage\.s3".*set both accesskey and secretkey, or neither/],
    [{ bucket: 'abc', endpoint: 'not a url' }, /"storage\.s3\.endpoint" = "not a url".*expected a URL/],
    [{ bucket: 'abc', redirectexpiry: '200h' }, /"storage\.s3\.redirectexpiry".*at most 7 days/],
    [{ bucket: 'abc', rootdirectory: 'a b' }, /"storage\.s3\.rootdirectory" = "a b".*key prefix/],
  ])('refuses %j, naming the key', (s3, message) => {
    expect(configErrorOf(() => validate({ storage: { s3 } }))).toMatch(message);
  });
});
