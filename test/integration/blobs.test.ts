/**
 * Blob reads and deletes (end-2 `GET`/`HEAD /v2/<name>/blobs/<digest>`, end-10 `DELETE`): headers,
 * single byte ranges (RFC 9110), repository isolation, and the documented errors.
 */
import { expect, it } from 'vitest';
import * as layout from '../../src/storage/layout.js';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { expectError, forEachDriver, pushBlob, randomBlob, randomDigest, raw, sha256 } from './harness.js';

forEachDriver((make) => {
  it('GET answers 200 with the bytes, Content-Length, Content-Type and Docker-Content-Digest', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'team/app', randomBlob(1000));
    const res = await raw(http.get(`/v2/team/app/blobs/${blob.digest}`));
    expect(res.status).toBe(200);
    expect(res.body.equals(blob.bytes)).toBe(true);
    expect(res.headers['content-length']).toBe('1000');
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0');
  });

  it('HEAD answers 200 with the same headers', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'team/app', randomBlob(321));
    const res = await http.head(`/v2/team/app/blobs/${blob.digest}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('321');
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
  });

  it.each([
    ['bytes=0-9', 0, 9],
    ['bytes=10-99', 10, 99],
    ['bytes=95-', 95, 99],
    ['bytes=-7', 93, 99],
    ['bytes=50-500', 50, 99],
    ['bytes=-500', 0, 99],
    ['bytes=99-99', 99, 99],
  ])('Range %s answers 206 with Content-Range and those bytes', async (range, start, end) => {
    const { http } = await make();
    const blob = await pushBlob(http, 'r', randomBlob(100));
    const res = await raw(http.get(`/v2/r/blobs/${blob.digest}`).set('Range', range));
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/100`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    expect(res.body.equals(blob.bytes.subarray(start, end + 1))).toBe(true);
  });

  it('HEAD with a Range answers 206 with the range length', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'r', randomBlob(100));
    const res = await http.head(`/v2/r/blobs/${blob.digest}`).set('Range', 'bytes=10-19');
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 10-19/100');
    expect(res.headers['content-length']).toBe('10');
  });

  it.each(['bytes=100-', 'bytes=100-200', 'bytes=1000-1001', 'bytes=-0'])('Range %s past the end answers 416 with Content-Range bytes */size', async (range) => {
    const { http } = await make();
    const blob = await pushBlob(http, 'r', randomBlob(100));
    const res = await http.get(`/v2/r/blobs/${blob.digest}`).set('Range', range);
    expectError(res, 416, 'RANGE_INVALID');
    expect(res.headers['content-range']).toBe('bytes */100');
  });

  it('ignores a Range header that is not a valid bytes range set (RFC 9110 14.2) and sends the whole blob', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'r', randomBlob(50));
    for (const range of ['items=0-1', 'bytes=0-1,x', 'bytes=9-1']) {
      const res = await raw(http.get(`/v2/r/blobs/${blob.digest}`).set('Range', range));
      expect(res.status).toBe(200);
      expect(res.body.equals(blob.bytes)).toBe(true);
    }
  });

  it('several ranges answer 206 multipart/byteranges with only those parts (RFC 9110 14.6)', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'multi', randomBlob(5000));
    const res = await raw(http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', 'bytes=0-99,1000-1099,-5'));
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBeUndefined();
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(parts(res.headers['content-type'], res.body)).toEqual([
      { range: 'bytes 0-99/5000', type: 'application/octet-stream', data: blob.bytes.subarray(0, 100) },
      { range: 'bytes 1000-1099/5000', type: 'application/octet-stream', data: blob.bytes.subarray(1000, 1100) },
      { range: 'bytes 4995-4999/5000', type: 'application/octet-stream', data: blob.bytes.subarray(4995) },
    ]);
    const head = await http.head(`/v2/multi/blobs/${blob.digest}`).set('Range', 'bytes=0-99,1000-1099,-5');
    expect(head.status).toBe(206);
    expect(head.headers['content-length']).toBe(res.headers['content-length']);
    expect(head.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
  });

  it('several ranges: overlapping ones coalesced, adjacent ones kept apart, past the cap the whole blob', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'multi', randomBlob(3000));
    const overlapping = await raw(http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', 'bytes=500-700,0-99,50-149'));
    expect(parts(overlapping.headers['content-type'], overlapping.body).map((p) => p.range)).toEqual(['bytes 0-149/3000', 'bytes 500-700/3000']);
    const merged = await raw(http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', 'bytes=0-99,50-2999'));
    expect(merged.status).toBe(206);
    expect(merged.headers['content-range']).toBe('bytes 0-2999/3000');
    const adjacent = await raw(http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', 'bytes=0-9,10-19'));
    expect(parts(adjacent.headers['content-type'], adjacent.body).map((p) => p.range)).toEqual(['bytes 0-9/3000', 'bytes 10-19/3000']);
    // 1024 ranges of a large blob's offsets make a Range header of about 20 KiB: served, not 431
    const chunks = Array.from({ length: 1024 }, (_, i) => `${100_000_000 + i * 20}-${100_000_000 + i * 20 + 9}`).join(',');
    expect(chunks.length).toBeGreaterThan(16 * 1024);
    expect((await http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', `bytes=${chunks}`)).status).toBe(416);
    const many = Array.from({ length: 1025 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
    const whole = await raw(http.get(`/v2/multi/blobs/${blob.digest}`).set('Range', `bytes=${many}`));
    expect(whole.status).toBe(200);
    expect(whole.body.equals(blob.bytes)).toBe(true);
  });

  it('round-trips a zero-length blob', async () => {
    const { http } = await make();
    const empty = Buffer.alloc(0);
    const blob = await pushBlob(http, 'empty', empty);
    expect(blob.digest).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const get = await raw(http.get(`/v2/empty/blobs/${blob.digest}`));
    expect(get.status).toBe(200);
    expect(get.headers['content-length']).toBe('0');
    expect(get.headers['docker-content-digest']).toBe(blob.digest);
    expect(get.body.length).toBe(0);
    const head = await http.head(`/v2/empty/blobs/${blob.digest}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('0');
    const ranged = await http.get(`/v2/empty/blobs/${blob.digest}`).set('Range', 'bytes=0-0');
    expectError(ranged, 416, 'RANGE_INVALID');
    expect(ranged.headers['content-range']).toBe('bytes */0');
  });

  it('serves a blob larger than one read chunk intact', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'big', randomBlob(3 * 1024 * 1024 + 17));
    const res = await raw(http.get(`/v2/big/blobs/${blob.digest}`));
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(blob.digest);
    const tail = await raw(http.get(`/v2/big/blobs/${blob.digest}`).set('Range', 'bytes=-17'));
    expect(tail.body.equals(blob.bytes.subarray(blob.bytes.length - 17))).toBe(true);
  });

  it('answers BLOB_UNKNOWN (404) for a missing blob in an existing repository, on GET and HEAD', async () => {
    const { http } = await make();
    await pushBlob(http, 'exists');
    const missing = randomDigest();
    const res = await http.get(`/v2/exists/blobs/${missing}`);
    expectError(res, 404, 'BLOB_UNKNOWN');
    expect(res.body.errors[0].detail).toEqual({ digest: missing });
    expectError(await http.head(`/v2/exists/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
  });

  it('answers NAME_UNKNOWN (404) for a blob of an unknown repository', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'known');
    expectError(await http.get(`/v2/unknown/blobs/${blob.digest}`), 404, 'NAME_UNKNOWN');
    expectError(await http.head(`/v2/unknown/blobs/${blob.digest}`), 404, 'NAME_UNKNOWN');
    expectError(await http.delete(`/v2/unknown/blobs/${blob.digest}`), 404, 'NAME_UNKNOWN');
  });

  it('answers DIGEST_INVALID (400) for a malformed or unsupported digest', async () => {
    const { http } = await make();
    await pushBlob(http, 'r');
    expectError(await http.get('/v2/r/blobs/sha256:abc'), 400, 'DIGEST_INVALID');
    expectError(await http.get('/v2/r/blobs/notadigest'), 400, 'DIGEST_INVALID');
    expectError(await http.get(`/v2/r/blobs/md5:${'a'.repeat(32)}`), 400, 'DIGEST_INVALID');
    expectError(await http.get(`/v2/r/blobs/sha256:${'A'.repeat(64)}`), 400, 'DIGEST_INVALID');
  });

  it('does not serve a blob pushed to repository A from repository B until it is mounted there', async () => {
    const { http } = await make();
    const secret = await pushBlob(http, 'team-a/app', randomBlob(77));
    await pushBlob(http, 'team-b/app');
    expectError(await http.get(`/v2/team-b/app/blobs/${secret.digest}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.head(`/v2/team-b/app/blobs/${secret.digest}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.get(`/v2/team-b/app/blobs/${secret.digest}`).set('Range', 'bytes=0-1'), 404, 'BLOB_UNKNOWN');

    const mount = await http.post(`/v2/team-b/app/blobs/uploads/?mount=${secret.digest}&from=team-a/app`);
    expect(mount.status).toBe(201);
    const res = await raw(http.get(`/v2/team-b/app/blobs/${secret.digest}`));
    expect(res.status).toBe(200);
    expect(res.body.equals(secret.bytes)).toBe(true);
  });

  it('DELETE answers 202, then the blob is 404 in that repository only', async () => {
    const { http, driver } = await make();
    const keep = await pushBlob(http, 'del');
    const gone = await pushBlob(http, 'del');
    await http.post(`/v2/other/blobs/uploads/?mount=${gone.digest}&from=del`).expect(201);

    const res = await raw(http.delete(`/v2/del/blobs/${gone.digest}`));
    expect(res.status).toBe(202);
    expect(res.headers['content-length']).toBe('0');
    expect(res.headers['docker-content-digest']).toBe(gone.digest);

    expectError(await http.get(`/v2/del/blobs/${gone.digest}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.head(`/v2/del/blobs/${gone.digest}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.delete(`/v2/del/blobs/${gone.digest}`), 404, 'BLOB_UNKNOWN');
    await expect(driver.stat(layout.layerLink('del' as RepositoryName, gone.digest as Digest))).rejects.toThrow(/not found/);
    expect((await http.get(`/v2/del/blobs/${keep.digest}`)).status).toBe(200);
    expect((await http.get(`/v2/other/blobs/${gone.digest}`)).status).toBe(200);
  });

  it('DELETE answers 405 UNSUPPORTED when deletes are disabled, and the blob stays', async () => {
    const { http } = await make({ deleteEnabled: false });
    const blob = await pushBlob(http, 'nodel');
    const res = await http.delete(`/v2/nodel/blobs/${blob.digest}`);
    const message = expectError(res, 405, 'UNSUPPORTED');
    expect(message).toMatch(/delete/i);
    expect((await http.head(`/v2/nodel/blobs/${blob.digest}`)).status).toBe(200);
  });

  it('POST, PATCH and PUT are not blob methods: 405 UNSUPPORTED with Allow', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'r');
    for (const method of ['post', 'put', 'patch'] as const) {
      const res = await http[method](`/v2/r/blobs/${blob.digest}`);
      expectError(res, 405, 'UNSUPPORTED');
      expect(res.headers.allow).toBe('GET, HEAD, DELETE');
    }
  });
});

/** The parts of a `multipart/byteranges` body: each part's Content-Range, Content-Type and bytes. */
function parts(contentType: string | undefined, body: Buffer): { range: string; type: string; data: Buffer }[] {
  const boundary = /^multipart\/byteranges; boundary=(\S+)$/.exec(contentType ?? '')?.[1];
  expect(boundary, contentType).toBeDefined();
  const text = body.toString('latin1');
  expect(text.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  const sections = text.slice(0, -`\r\n--${boundary}--\r\n`.length).split(new RegExp(`(?:^|\r\n)--${boundary}\r\n`)).slice(1);
  return sections.map((section) => {
    const split = section.indexOf('\r\n\r\n');
    const headers = Object.fromEntries(section.slice(0, split).split('\r\n').map((line) => line.split(': ') as [string, string]));
    return { range: headers['Content-Range']!, type: headers['Content-Type']!, data: Buffer.from(section.slice(split + 4), 'latin1') };
  });
}
