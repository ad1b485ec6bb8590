/**
 * The S3 driver's own objects on Ceph RGW (s3rver where RGW is missing outside CI; see test/support/s3.ts):
 * large reads through big socket reads (s3-large-get.ts), whole, ranged and sent with reused buffers,
 * byte for byte; and the purge of `_objects/` objects and multipart uploads that interrupted commits left
 * (s3-orphans.ts), which keeps every object a pointer names and every upload a session names; and an
 * append that owns its chunks (a request body's) frees each once copied into a part, the bytes stored intact.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canSendDirect, type DirectSend } from '../../src/storage/file-range-stream.js';
import { S3Driver } from '../../src/storage/s3.js';
import { startS3, type RunningS3 } from '../support/s3.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });
const MiB = 1024 * 1024;

let s3: RunningS3;
beforeAll(async () => {
  s3 = await startS3();
}, 300_000); // Ceph RGW, started a second time if the first fails
afterAll(async () => {
  await s3?.stop();
});

function driverAt(root: string): S3Driver {
  return new S3Driver({
    bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true,
    accessKey: s3.accessKey, secretKey: s3.secretKey, rootDirectory: root, chunkSize: 5 * MiB,
  });
}

const sha = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The bytes `stream.sendTo` writes to a TCP socket, as received by a loopback server (sendTo reuses a
 * buffer once the destination called back for its write: a socket's callback means the kernel has the bytes).
 */
async function sentOverTcp(stream: Readable & DirectSend): Promise<Buffer> {
  let received!: Promise<Buffer>;
  const server = createServer((socket) => (received = drain(socket)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  await stream.sendTo(socket);
  const bytes = await received;
  server.close();
  return bytes;
}

/** Commits `bytes` as `dest` through a chunked object (a multipart upload and a pointer, as a blob push does). */
async function commit(driver: S3Driver, session: string, dest: string, bytes: Buffer): Promise<void> {
  await driver.append(`/uploads/${session}/data`, Readable.from([bytes.subarray(0, 7 * MiB), bytes.subarray(7 * MiB)]), { offset: 0 });
  const state = await driver.appendedState(`/uploads/${session}/data`);
  await driver.commitAppended(`/uploads/${session}/data`, dest, state);
}

describe('large reads', () => {
  it('reads a 21 MiB pointed-to object whole, ranged and sent with reused buffers, byte for byte, from a fresh driver too', async () => {
    const root = `large/${randomUUID()}`;
    const bytes = randomBytes(21 * MiB + 123);
    await commit(driverAt(root), 's1', '/blobs/b', bytes);
    for (const driver of [driverAt(root), driverAt(root)]) {
      expect(sha(await drain(await driver.reader('/blobs/b')))).toBe(sha(bytes)); // the pointer met, then followed
      expect(sha(await drain(await driver.reader('/blobs/b')))).toBe(sha(bytes)); // the pointer remembered
      const ranged = await drain(await driver.reader('/blobs/b', { offset: 3 * MiB + 5, length: 9 * MiB }));
      expect(sha(ranged)).toBe(sha(bytes.subarray(3 * MiB + 5, 12 * MiB + 5)));
      const stream = await driver.reader('/blobs/b', { offset: MiB });
      expect(canSendDirect(stream)).toBe(true);
      if (!canSendDirect(stream)) return;
      expect(sha(await sentOverTcp(stream))).toBe(sha(bytes.subarray(MiB)));
    }
    await driverAt(root).delete('/');
  });

  it('a large read of a pointer whose object is gone is PathNotFoundError', async () => {
    const root = `gone/${randomUUID()}`;
    const driver = driverAt(root);
    await commit(driver, 's1', '/blobs/b', randomBytes(12 * MiB));
    await drain(await driver.reader('/blobs/b'));
    const objects = await driver.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${root}/_objects/` }));
    await driver.delete('/blobs/b');
    expect(objects.Contents).toHaveLength(1);
    await expect(driver.reader('/blobs/b')).rejects.toThrow(/not found/);
    await expect(driver.reader('/blobs/b', { offset: 5 })).rejects.toThrow(/not found/);
  });
});

describe('appends that own their chunks', () => {
  it('frees each chunk once copied (ownChunks), keeps them otherwise; the committed bytes are intact either way', async () => {
    const root = `owned/${randomUUID()}`;
    const driver = driverAt(root);
    // request-sized chunks, each a Buffer of its own as node's HTTP parser makes them: two parts and a tail
    const chunks = (): Buffer[] => Array.from({ length: 180 }, () => randomBytes(64 * 1024));
    for (const ownChunks of [true, false]) {
      const given = chunks();
      const expected = sha(Buffer.concat(given));
      const data = `/uploads/${ownChunks}/data`;
      await driver.append(data, Readable.from(given), { offset: 0, ownChunks });
      expect(given.filter((c) => c.length === 0)).toHaveLength(ownChunks ? given.length : 0);
      await driver.commitAppended(data, `/blobs/${ownChunks}`, await driver.appendedState(data));
      expect(sha(await drain(await driver.reader(`/blobs/${ownChunks}`)))).toBe(expected);
    }
    await driver.delete('/');
  });
});

describe('purgeTemporaries', () => {
  it('deletes _objects/ objects no pointer names and aborts uploads no session names, keeps the rest, counts in a dry run', async () => {
    const root = `orphans/${randomUUID()}`;
    const driver = driverAt(root);
    const kept = randomBytes(11 * MiB);
    await commit(driver, 's1', '/blobs/kept', kept);
    // a live session with a multipart upload (its first part written), and the leftovers of killed commits
    await driver.append('/uploads/live/data', Readable.from([randomBytes(6 * MiB)]), { offset: 0 });
    const orphan = `${root}/_objects/${randomUUID()}`;
    await driver.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: orphan, Body: randomBytes(1000) }));
    const stale = await driver.client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: `${root}/_objects/${randomUUID()}` }));
    const uploads = async (): Promise<string[]> =>
      ((await driver.client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${root}/_objects/` }))).Uploads ?? []).map((u) => u.UploadId!);
    expect(await uploads()).toHaveLength(2);

    expect(await driver.purgeTemporaries(new Date(Date.now() - 3_600_000), { dryRun: false })).toEqual({ count: 0, bytes: 0 }); // nothing that old
    const later = new Date(Date.now() + 60_000);
    expect(await driver.purgeTemporaries(later, { dryRun: true })).toEqual({ count: 2, bytes: 1000 });
    expect(await uploads()).toHaveLength(2);
    expect(await driver.purgeTemporaries(later, { dryRun: false })).toEqual({ count: 2, bytes: 1000 });

    const left = (await driver.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${root}/_objects/` }))).Contents ?? [];
    expect(left.map((o) => o.Key)).not.toContain(orphan);
    expect(left).toHaveLength(1); // the kept blob's bytes
    expect(await uploads()).not.toContain(stale.UploadId);
    expect(await uploads()).toHaveLength(1); // the live session's
    expect(sha(await drain(await driverAt(root).reader('/blobs/kept')))).toBe(sha(kept));
    await driver.append('/uploads/live/data', Readable.from([randomBytes(6 * MiB)]), { offset: 6 * MiB }); // the session goes on
    await driver.delete('/');
  });
});
