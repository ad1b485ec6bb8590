/**
 * The configuration `npm run bench -- --s3` gives each server: Wharf's must pass Wharf's own schema with
 * the s3rver settings, Distribution's must carry Distribution 2.8's s3 driver keys (it is started for
 * real only by the bench).
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validate } from '../../src/config/load.js';
import { configYaml } from '../../bench/servers.js';
import { distributionS3Driver, wharfS3Driver } from '../../bench/storage.js';

const ENDPOINT = 'http://127.0.0.1:4569';

describe('bench configuration on S3', () => {
  it("gives Wharf a storage.s3 section that Wharf's schema accepts, path-style with static keys", () => {
    const config = validate(parse(configYaml(5000, wharfS3Driver(ENDPOINT, 'wharf-bench', 'S3RVER', 'S3RVER'), '')));
    expect(config.storage.s3).toMatchObject({
      bucket: 'wharf-bench',
      endpoint: ENDPOINT,
      forcepathstyle: true,
      accesskey: 'S3RVER',
      secretkey: 'S3RVER',
      redirect: false,
    });
    expect(config.storage.filesystem).toBeUndefined();
    expect(config.http.addr).toBe('127.0.0.1:5000');
  });

  it("gives Distribution its s3 driver's keys, plain HTTP, CopyObject moves and no redirects", () => {
    const config = parse(configYaml(5001, distributionS3Driver(ENDPOINT, 'distribution-bench', 'S3RVER', 'S3RVER'), 'catalog:\n  maxentries: 1000\n'));
    expect(config.storage).toEqual({
      s3: {
        accesskey: 'S3RVER',
        secretkey: 'S3RVER',
        region: 'us-east-1',
        regionendpoint: ENDPOINT,
        bucket: 'distribution-bench',
        secure: false,
        v4auth: true,
        multipartcopythresholdsize: 5 * 1024 ** 3,
      },
      redirect: { disable: true },
      delete: { enabled: true },
    });
    expect(config.catalog).toEqual({ maxentries: 1000 });
  });
});
