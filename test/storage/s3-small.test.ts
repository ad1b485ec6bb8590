/**
 * Small reads on S3 without the AWS SDK (s3-small.ts), on Ceph RGW (which checks every signature;
 * s3rver where RGW is missing outside CI): stat and getContent of links and tags are one signed request
 * each, no SDK request; keys that need encoding are signed right; a missing key is PathNotFoundError;
 * listings (and the folder check of a stat) too; anything else (a refused signature, a body over 1 MiB) goes through the SDK, which names the error.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PathNotFoundError } from '../../src/storage/driver-errors.js';
import { S3Driver } from '../../src/storage/s3.js';
import { parseListPage, SmallFallback } from '../../src/storage/s3-small.js';
import { s3Kind, startS3, type RunningS3 } from '../support/s3.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
const MiB = 1024 * 1024;
/** s3rver (the fake that stands in for RGW outside CI) checks no signature and pages folders its own way */
const REAL_S3 = s3Kind() === 'rgw';

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3();
}, 300_000); // Ceph RGW, started a second time if the first fails
afterAll(async () => {
  await s3?.stop();
});

/** A driver at root `root` and the SDK requests it sends, by command. */
function counted(root: string, secretKey = s3.secretKey, listPageSize?: number): { driver: S3Driver; sdk: string[] } {
  const driver = new S3Driver({
    bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true,
    accessKey: s3.accessKey, secretKey, rootDirectory: root, chunkSize: 5 * MiB, maxAttempts: 1, listPageSize,
  });
  const sdk: string[] = [];
  for (const client of driver.clients()) {
    client.middlewareStack.add((next, context) => (args) => (sdk.push(context.commandName!), next(args)), { step: 'initialize' });
  }
  return { driver, sdk };
}

describe('small reads on S3', () => {
  it('putContent, stat and getContent of small objects send no SDK request, under a root directory that needs encoding', async () => {
    const { driver, sdk } = counted("small a+b!(c)*'é");
    const names = ['/link', '/tags/v1.0_build-7', '/_layers/sha256/ab', '/deep/er/path/X.y-z'];
    for (const [i, name] of names.entries()) await driver.putContent(name, `content ${i}`);
    for (const [i, name] of names.entries()) {
      expect((await driver.getContent(name)).toString()).toBe(`content ${i}`);
      const info = await driver.stat(name);
      expect(info.size).toBe(`content ${i}`.length);
      expect(info.isDir).toBe(false);
      expect(Math.abs(info.modTime.getTime() - Date.now())).toBeLessThan(10 * 60_000);
    }
    expect(sdk).toEqual([]);
  });

  it('a missing key is PathNotFoundError without the SDK', async () => {
    const { driver, sdk } = counted('small-b');
    await expect(driver.getContent('/nothing/here')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(sdk).toEqual([]);
    // stat of a missing object asks whether it is a folder: one listing of one key, without the SDK too
    const small: string[] = [];
    driver.observeSmallRequests((method) => small.push(method));
    await expect(driver.stat('/nothing/here')).rejects.toBeInstanceOf(PathNotFoundError);
    expect(small).toEqual(['HEAD', 'LIST']);
    await driver.putContent('/nothing/here/below', 'x');
    expect((await driver.stat('/nothing/here')).isDir).toBe(true);
    expect(sdk).toEqual([]);
  });

  it.runIf(REAL_S3).each([
    { what: 'a read', root: 'small-c', key: '/x', call: (d: S3Driver) => d.getContent('/x'), command: 'GetObjectCommand' },
    { what: 'a listing', root: 'list-b', key: '/dir/x', call: (d: S3Driver) => d.list('/dir'), command: 'ListObjectsV2Command' },
  ])('$what whose signature is refused goes through the SDK, whose error is not taken for a missing key', async ({ root, key, call, command }) => {
    const { driver: good } = counted(root);
    await good.putContent(key, 'bytes');
    const { driver, sdk } = counted(root, 'not-the-secret');
    const err = await call(driver).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(PathNotFoundError);
    expect(sdk).toContain(command);
  });

  it('an object over 1 MiB and a pointer (a committed upload) read whole through getContent', async () => {
    const { driver } = counted('small-d');
    const big = randomBytes(3 * MiB);
    await driver.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'small-d/big', Body: big }));
    expect((await driver.getContent('/big')).equals(big)).toBe(true);
    const bytes = randomBytes(6 * MiB);
    await driver.append('/session/data', Readable.from([bytes]), { offset: 0 });
    await driver.commitAppended('/session/data', '/blob', await driver.appendedState('/session/data'));
    const { driver: fresh } = counted('small-d'); // no pointer remembered
    expect((await fresh.getContent('/blob')).equals(bytes)).toBe(true);
    expect((await fresh.stat('/blob')).size).toBe(bytes.length);
  });

  it('listings page through ListObjectsV2 without the SDK: continuation tokens, common prefixes, keys XML escapes', async () => {
    const { driver, sdk } = counted("list a&b<c>'\"", s3.secretKey, 2);
    const lists: string[] = [];
    driver.observeSmallRequests((method) => method === 'LIST' && lists.push(method));
    const files = ['a', 'b', 'c-1', 'd_2', 'e.3'];
    for (const name of files) await driver.putContent(`/dir/${name}`, name);
    for (const folder of ['f1', 'f2']) await driver.putContent(`/dir/${folder}/x`, 'x');
    expect(await driver.list('/dir')).toEqual([...files, 'f1', 'f2']);
    if (REAL_S3) expect(lists.length).toBe(4); // 7 names, 2 a page
    else expect(lists.length).toBeGreaterThan(1);
    lists.length = 0;
    await driver.delete('/dir'); // the recursive listing, no delimiter: 7 keys in 4 pages
    if (REAL_S3) expect(lists.length).toBe(4);
    else expect(lists.length).toBeGreaterThan(1);
    expect(await driver.list('/dir')).toEqual([]);
    expect(sdk.filter((c) => c === 'ListObjectsV2Command')).toEqual([]);
  });

});

describe('parseListPage', () => {
  it('reads keys, sizes, times, common prefixes and the token; decodes XML character references', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>' +
      '<Prefix>r/</Prefix><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>' +
      '<NextContinuationToken>a+b/c=</NextContinuationToken>' +
      '<Contents><Key>r/x&amp;y&#60;&#x3e;</Key><LastModified>2026-12-07T03:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag><Size>12</Size>' +
      '<Owner><ID>o</ID></Owner></Contents><CommonPrefixes><Prefix>r/sub/</Prefix></CommonPrefixes></ListBucketResult>';
    expect(parseListPage(xml)).toEqual({
      Contents: [{ Key: 'r/x&y<>', Size: 12, LastModified: new Date('2026-12-07T03:00:00.000Z') }],
      CommonPrefixes: [{ Prefix: 'r/sub/' }],
      NextContinuationToken: 'a+b/c=',
    });
    expect(parseListPage('<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>')).toEqual({ Contents: [], CommonPrefixes: [] });
  });

  it('refuses what it cannot read (the SDK then lists)', () => {
    expect(() => parseListPage('<Error><Code>AccessDenied</Code></Error>')).toThrow(SmallFallback);
    expect(() => parseListPage('<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>')).toThrow(SmallFallback);
  });
});
