/**
 * Blob uploads (Distribution Spec v1.1 "Pushing blobs"): POST sessions (end-4a), monolithic POST
 * (end-4b), cross-repository mounts (end-11), streamed and chunked PATCH (end-5), PUT (end-6),
 * status (end-13), cancel, restarts, and the documented errors.
 */
import { request as httpRequest } from 'node:http';
import { expect, it } from 'vitest';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName } from '../../src/oci/reference.js';
import { statIfExists, type StorageDriver } from '../../src/storage/driver.js';
import * as layout from '../../src/storage/layout.js';
import {
  capturingLogger,
  eventually,
  expectError,
  forEachDriver,
  pushBlob,
  randomBlob,
  randomDigest,
  raw,
  sendChunked,
  sha256,
  sha512,
  type Client,
  type TestRegistry,
} from './harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Starts a session and returns its Location (an absolute path). */
async function startSession(http: Client, name: string): Promise<string> {
  const res = await http.post(`/v2/${name}/blobs/uploads/`);
  expect(res.status).toBe(202);
  return res.headers.location as string;
}

/** PATCHes a chunk with Content-Range `start-end` (inclusive). */
function patchChunk(http: Client, location: string, bytes: Buffer, start: number) {
  return http
    .patch(location)
    .set('Content-Type', 'application/octet-stream')
    .set('Content-Range', `${start}-${start + bytes.length - 1}`)
    .send(bytes);
}

/** True when the storage holds neither the blob's bytes nor any repository's link to it. */
/** Asserts that none of `digests` left a blob, nor a link in repository `name` (a missing path only; any other storage error fails). */
async function expectNoBlob(driver: StorageDriver, name: string, ...digests: string[]): Promise<void> {
  for (const digest of digests) {
    for (const path of [layout.blobData(digest as Digest), layout.layerLink(name as RepositoryName, digest as Digest)]) {
      expect(await statIfExists(driver, path), `${path} was left behind`).toBeUndefined();
    }
  }
}

async function expectNoSessions(reg: TestRegistry): Promise<void> {
  expect(await reg.driver.list(layout.UPLOADS)).toEqual([]);
}

/** Asserts that a failed or cancelled upload left nothing: no blob, no link, no session. */
async function expectNothingLeft(reg: TestRegistry, name: string, ...digests: string[]): Promise<void> {
  await expectNoBlob(reg.driver, name, ...digests);
  await expectNoSessions(reg);
}

forEachDriver((make, driverName) => {
  it('POST starts a session: 202, absolute Location with the session, Docker-Upload-UUID, Range 0-0', async () => {
    const { http } = await make();
    const res = await raw(http.post('/v2/team/app/blobs/uploads/'));
    expect(res.status).toBe(202);
    const uuid = res.headers['docker-upload-uuid'] as string;
    expect(uuid).toMatch(UUID);
    expect(res.headers.location).toBe(`/v2/team/app/blobs/uploads/${uuid}`);
    expect(res.headers.range).toBe('0-0');
    expect(res.headers['content-length']).toBe('0');
    expect(res.body.length).toBe(0);

    const status = await raw(http.get(res.headers.location as string));
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-0');
    expect(status.headers.location).toBe(res.headers.location);
    expect(status.headers['docker-upload-uuid']).toBe(uuid);
  });

  it('each POST starts a distinct session', async () => {
    const { http } = await make();
    const a = await startSession(http, 'r');
    const b = await startSession(http, 'r');
    expect(a).not.toBe(b);
  });

  it('POST then PUT ?digest= with the whole body: 201 with Location and Docker-Content-Digest; the session ends', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(500);
    const digest = sha256(bytes);
    const location = await startSession(http, 'mono');
    const res = await raw(http.put(`${location}?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes));
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/mono/blobs/${digest}`);
    expect(res.headers['docker-content-digest']).toBe(digest);
    expect(res.headers['content-length']).toBe('0');
    const got = await raw(http.get(res.headers.location as string));
    expect(got.body.equals(bytes)).toBe(true);
    expectError(await http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectNoSessions(reg);
  });

  it('monolithic POST ?digest= with the body: 201 with Location and Docker-Content-Digest', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(700);
    const digest = sha256(bytes);
    const res = await http.post(`/v2/mono/blobs/uploads/?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/mono/blobs/${digest}`);
    expect(res.headers['docker-content-digest']).toBe(digest);
    const got = await raw(http.get(`/v2/mono/blobs/${digest}`));
    expect(got.status).toBe(200);
    expect(got.body.equals(bytes)).toBe(true);
    await expectNoSessions(reg);
  });

  it('monolithic POST with a wrong digest: 400 DIGEST_INVALID, and nothing is stored', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(100);
    const claimed = randomDigest();
    const res = await http.post(`/v2/mono/blobs/uploads/?digest=${claimed}`).set('Content-Type', 'application/octet-stream').send(bytes);
    expectError(res, 400, 'DIGEST_INVALID');
    await expectNothingLeft(reg, 'mono', claimed, sha256(bytes));
    expectError(await http.head(`/v2/mono/blobs/${claimed}`), 404, 'NAME_UNKNOWN');
  });

  it('mount with from: 201 when the source repository has the blob', async () => {
    const reg = await make();
    const { http } = reg;
    const blob = await pushBlob(http, 'src/repo', randomBlob(33));
    const res = await raw(http.post(`/v2/dst/repo/blobs/uploads/?mount=${blob.digest}&from=src/repo`));
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/dst/repo/blobs/${blob.digest}`);
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    expect(res.headers['docker-upload-uuid']).toBeUndefined();
    const got = await raw(http.get(`/v2/dst/repo/blobs/${blob.digest}`));
    expect(got.body.equals(blob.bytes)).toBe(true);
    await expectNoSessions(reg);
  });

  it('mount with from: 202 with a new session when the source repository lacks the blob; the upload proceeds', async () => {
    const { http } = await make();
    const elsewhere = await pushBlob(http, 'holder', randomBlob(20));
    await pushBlob(http, 'src');
    // "src" does not link the blob (only "holder" does), so the mount is refused
    const res = await http.post(`/v2/dst/blobs/uploads/?mount=${elsewhere.digest}&from=src`);
    expect(res.status).toBe(202);
    const uuid = res.headers['docker-upload-uuid'] as string;
    expect(uuid).toMatch(UUID);
    expect(res.headers.location).toBe(`/v2/dst/blobs/uploads/${uuid}`);
    expect(res.headers.range).toBe('0-0');
    expectError(await http.head(`/v2/dst/blobs/${elsewhere.digest}`), 404, 'NAME_UNKNOWN');

    const put = await http.put(`${res.headers.location}?digest=${elsewhere.digest}`).set('Content-Type', 'application/octet-stream').send(elsewhere.bytes);
    expect(put.status).toBe(201);
    expect((await http.head(`/v2/dst/blobs/${elsewhere.digest}`)).status).toBe(200);
  });

  it('mount from an unknown repository or of an unknown blob: 202 with a session', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'src');
    const unknownRepo = await http.post(`/v2/dst/blobs/uploads/?mount=${blob.digest}&from=nowhere`);
    expect(unknownRepo.status).toBe(202);
    expect(unknownRepo.headers['docker-upload-uuid']).toMatch(UUID);
    const unknownBlob = await http.post(`/v2/dst/blobs/uploads/?mount=${randomDigest()}&from=src`);
    expect(unknownBlob.status).toBe(202);
    expect(unknownBlob.headers['docker-upload-uuid']).toMatch(UUID);
  });

  it('mount without from: 201 when the blob exists in the registry, 202 when it does not', async () => {
    const { http } = await make();
    const blob = await pushBlob(http, 'somewhere', randomBlob(12));
    const res = await http.post(`/v2/dst/blobs/uploads/?mount=${blob.digest}`);
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe(`/v2/dst/blobs/${blob.digest}`);
    expect(res.headers['docker-content-digest']).toBe(blob.digest);
    expect((await raw(http.get(`/v2/dst/blobs/${blob.digest}`))).body.equals(blob.bytes)).toBe(true);

    const absent = await http.post(`/v2/dst/blobs/uploads/?mount=${randomDigest()}`);
    expect(absent.status).toBe(202);
    expect(absent.headers['docker-upload-uuid']).toMatch(UUID);
  });

  it('mount with a malformed digest or from name: 400', async () => {
    const { http } = await make();
    expectError(await http.post('/v2/dst/blobs/uploads/?mount=sha256:nothex&from=src'), 400, 'DIGEST_INVALID');
    expectError(await http.post(`/v2/dst/blobs/uploads/?mount=${randomDigest()}&from=Bad/Name`), 400, 'NAME_INVALID');
  });

  it('streamed PATCH (no Content-Range) then PUT ?digest= with no body', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(4096);
    const digest = sha256(bytes);
    const location = await startSession(http, 'stream');
    const patched = await raw(http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes));
    expect(patched.status).toBe(202);
    expect(patched.headers.location).toBe(location);
    expect(patched.headers.range).toBe('0-4095');
    expect(patched.headers['docker-upload-uuid']).toBe(location.split('/').at(-1));
    expect(patched.headers['content-length']).toBe('0');
    const put = await http.put(`${location}?digest=${digest}`);
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(digest);
    expect((await raw(http.get(`/v2/stream/blobs/${digest}`))).body.equals(bytes)).toBe(true);
    await expectNoSessions(reg);
  });

  it('streamed PATCH and PUT with chunked transfer encoding (no Content-Length)', async () => {
    const reg = await make();
    const parts = [randomBlob(1000), randomBlob(1), randomBlob(3000)];
    const tail = randomBlob(777);
    const all = Buffer.concat([...parts, tail]);
    const location = await startSession(reg.http, 'chunkedte');
    const patched = await sendChunked(`${reg.url}${location}`, 'PATCH', parts);
    expect(patched.status).toBe(202);
    expect(patched.headers.range).toBe('0-4000');
    const put = await sendChunked(`${reg.url}${location}?digest=${sha256(all)}`, 'PUT', [tail]);
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(sha256(all));
    expect((await raw(reg.http.get(`/v2/chunkedte/blobs/${sha256(all)}`))).body.equals(all)).toBe(true);

    const mono = randomBlob(2048);
    const posted = await sendChunked(`${reg.url}/v2/chunkedte/blobs/uploads/?digest=${sha256(mono)}`, 'POST', [mono.subarray(0, 1024), mono.subarray(1024)]);
    expect(posted.status).toBe(201);
    expect((await raw(reg.http.get(`/v2/chunkedte/blobs/${sha256(mono)}`))).body.equals(mono)).toBe(true);
    await expectNoSessions(reg);
  });

  it('two streamed PATCHes append in order', async () => {
    const { http } = await make();
    const a = randomBlob(100);
    const b = randomBlob(50);
    const location = await startSession(http, 'stream');
    expect((await http.patch(location).set('Content-Type', 'application/octet-stream').send(a)).headers.range).toBe('0-99');
    expect((await http.patch(location).set('Content-Type', 'application/octet-stream').send(b)).headers.range).toBe('0-149');
    const all = Buffer.concat([a, b]);
    expect((await http.put(`${location}?digest=${sha256(all)}`)).status).toBe(201);
    expect((await raw(http.get(`/v2/stream/blobs/${sha256(all)}`))).body.equals(all)).toBe(true);
  });

  it('chunked PATCHes with Content-Range in order: 202 each with the right Range; GET status reports it', async () => {
    const { http } = await make();
    const bytes = randomBlob(300);
    const location = await startSession(http, 'chunked');
    const expected = ['0-99', '0-199', '0-299'];
    for (let i = 0; i < 3; i++) {
      const res = await patchChunk(http, location, bytes.subarray(i * 100, (i + 1) * 100), i * 100);
      expect(res.status).toBe(202);
      expect(res.headers.range).toBe(expected[i]);
      expect(res.headers.location).toBe(location);
      const status = await raw(http.get(location));
      expect(status.status).toBe(204);
      expect(status.headers.range).toBe(expected[i]);
      expect(status.headers.location).toBe(location);
      expect(status.body.length).toBe(0);
    }
    const put = await http.put(`${location}?digest=${sha256(bytes)}`);
    expect(put.status).toBe(201);
    expect((await raw(http.get(`/v2/chunked/blobs/${sha256(bytes)}`))).body.equals(bytes)).toBe(true);
  });

  it('a one-byte chunk reports Range 0-0 and then 0-1', async () => {
    const { http } = await make();
    const bytes = randomBlob(2);
    const location = await startSession(http, 'tiny');
    expect((await patchChunk(http, location, bytes.subarray(0, 1), 0)).headers.range).toBe('0-0');
    expect((await patchChunk(http, location, bytes.subarray(1, 2), 1)).headers.range).toBe('0-1');
    expect((await http.put(`${location}?digest=${sha256(bytes)}`)).status).toBe(201);
  });

  it.each([
    ['a gap', 150],
    ['an overlap', 50],
    ['a restart from 0', 0],
  ])('a chunk out of order (%s) answers 416 with the current Range; the session is unchanged', async (_what, start) => {
    const { http } = await make();
    const bytes = randomBlob(200);
    const location = await startSession(http, 'ooo');
    expect((await patchChunk(http, location, bytes.subarray(0, 100), 0)).status).toBe(202);
    const bad = await patchChunk(http, location, randomBlob(50), start);
    expectError(bad, 416, 'RANGE_INVALID');
    expect(bad.headers.range).toBe('0-99');
    expect((await http.get(location)).headers.range).toBe('0-99');
    // the client resumes from the reported offset
    expect((await patchChunk(http, location, bytes.subarray(100), 100)).headers.range).toBe('0-199');
    expect((await http.put(`${location}?digest=${sha256(bytes)}`)).status).toBe(201);
    expect((await raw(http.get(`/v2/ooo/blobs/${sha256(bytes)}`))).body.equals(bytes)).toBe(true);
  });

  it('a first chunk that does not start at 0 answers 416 with Range 0-0', async () => {
    const { http } = await make();
    const location = await startSession(http, 'ooo');
    const bad = await patchChunk(http, location, randomBlob(10), 5);
    expectError(bad, 416, 'RANGE_INVALID');
    expect(bad.headers.range).toBe('0-0');
  });

  it('a Content-Range that disagrees with Content-Length, or is malformed, answers 416', async () => {
    const { http } = await make();
    const location = await startSession(http, 'bad');
    const mismatch = await http.patch(location).set('Content-Range', '0-19').set('Content-Type', 'application/octet-stream').send(randomBlob(10));
    expectError(mismatch, 416, 'RANGE_INVALID');
    const malformed = await http.patch(location).set('Content-Range', 'zero-nine').set('Content-Type', 'application/octet-stream').send(randomBlob(10));
    expectError(malformed, 416, 'RANGE_INVALID');
    const backwards = await http.patch(location).set('Content-Range', '9-0').set('Content-Type', 'application/octet-stream').send(randomBlob(10));
    expectError(backwards, 416, 'RANGE_INVALID');
    expect((await http.get(location)).headers.range).toBe('0-0');
  });

  it('PUT ?digest= with a final chunk in the body (with and without Content-Range)', async () => {
    const { http } = await make();
    const bytes = randomBlob(250);
    const first = await startSession(http, 'final');
    await patchChunk(http, first, bytes.subarray(0, 200), 0).expect(202);
    const put = await http
      .put(`${first}?digest=${sha256(bytes)}`)
      .set('Content-Type', 'application/octet-stream')
      .set('Content-Range', '200-249')
      .send(bytes.subarray(200));
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(sha256(bytes));
    expect((await raw(http.get(`/v2/final/blobs/${sha256(bytes)}`))).body.equals(bytes)).toBe(true);

    const other = randomBlob(90);
    const second = await startSession(http, 'final');
    await patchChunk(http, second, other.subarray(0, 40), 0).expect(202);
    const streamed = await http.put(`${second}?digest=${sha256(other)}`).set('Content-Type', 'application/octet-stream').send(other.subarray(40));
    expect(streamed.status).toBe(201);
    expect((await raw(http.get(`/v2/final/blobs/${sha256(other)}`))).body.equals(other)).toBe(true);
  });

  it('PUT with a final chunk at the wrong offset answers 416 and the session survives', async () => {
    const { http } = await make();
    const bytes = randomBlob(30);
    const location = await startSession(http, 'final');
    await patchChunk(http, location, bytes.subarray(0, 10), 0).expect(202);
    const bad = await http.put(`${location}?digest=${sha256(bytes)}`).set('Content-Range', '20-29').set('Content-Type', 'application/octet-stream').send(bytes.subarray(20));
    expectError(bad, 416, 'RANGE_INVALID');
    expect(bad.headers.range).toBe('0-9');
    expect((await http.get(location)).status).toBe(204);
  });

  it('PUT with a digest that does not match: 400 DIGEST_INVALID; no blob, no link, and the session is gone', async () => {
    const reg = await make();
    const { http } = reg;
    await pushBlob(http, 'mismatch');
    const bytes = randomBlob(128);
    const wrong = sha256(randomBlob(128));
    const location = await startSession(http, 'mismatch');
    await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes).expect(202);
    const res = await http.put(`${location}?digest=${wrong}`);
    const message = expectError(res, 400, 'DIGEST_INVALID');
    expect(message).toContain(sha256(bytes));
    expect(res.body.errors[0].detail).toEqual({ expected: wrong, actual: sha256(bytes) });
    expectError(await http.head(`/v2/mismatch/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.head(`/v2/mismatch/blobs/${sha256(bytes)}`), 404, 'BLOB_UNKNOWN');
    expectError(await http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectNothingLeft(reg, 'mismatch', wrong, sha256(bytes));
  });

  it('PUT with a final chunk and a wrong digest leaves nothing either', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(64);
    const wrong = randomDigest();
    const location = await startSession(http, 'mismatch');
    expectError(await http.put(`${location}?digest=${wrong}`).set('Content-Type', 'application/octet-stream').send(bytes), 400, 'DIGEST_INVALID');
    await expectNothingLeft(reg, 'mismatch', sha256(bytes));
  });

  it('PUT without ?digest= answers 400 DIGEST_INVALID and the session survives', async () => {
    const { http } = await make();
    const bytes = randomBlob(10);
    const location = await startSession(http, 'nodigest');
    await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes).expect(202);
    const message = expectError(await http.put(location), 400, 'DIGEST_INVALID');
    expect(message).toMatch(/digest/);
    expect((await http.get(location)).headers.range).toBe('0-9');
    expect((await http.put(`${location}?digest=${sha256(bytes)}`)).status).toBe(201);
  });

  it('DELETE cancels a session: 204, then status 404 BLOB_UPLOAD_UNKNOWN and nothing is visible', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(80);
    const location = await startSession(http, 'cancel');
    await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes).expect(202);
    const res = await raw(http.delete(location));
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expectError(await http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.put(`${location}?digest=${sha256(bytes)}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.head(`/v2/cancel/blobs/${sha256(bytes)}`), 404, 'NAME_UNKNOWN');
    await expectNothingLeft(reg, 'cancel', sha256(bytes));
  });

  it('a session used under another repository name answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const { http } = await make();
    const bytes = randomBlob(10);
    const location = await startSession(http, 'owner');
    const id = location.split('/').at(-1)!;
    const foreign = `/v2/thief/blobs/uploads/${id}`;
    expectError(await http.get(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.patch(foreign).set('Content-Type', 'application/octet-stream').send(bytes), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.put(`${foreign}?digest=${sha256(bytes)}`).set('Content-Type', 'application/octet-stream').send(bytes), 404, 'BLOB_UPLOAD_UNKNOWN');
    expectError(await http.delete(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
    // the owner's session is untouched
    const status = await http.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-0');
  });

  it.each(['not-a-uuid', '00000000-0000-0000-0000-00000000000Z', 'ABCDEF01-2345-6789-ABCD-EF0123456789', '%2e%2e'])(
    'a malformed session id (%s) answers 404 BLOB_UPLOAD_UNKNOWN',
    async (id) => {
      const { http } = await make();
      expectError(await http.get(`/v2/r/blobs/uploads/${id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await http.patch(`/v2/r/blobs/uploads/${id}`).set('Content-Type', 'application/octet-stream').send(randomBlob(4)), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await http.put(`/v2/r/blobs/uploads/${id}?digest=${randomDigest()}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      expectError(await http.delete(`/v2/r/blobs/uploads/${id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    },
  );

  it('an unknown (well-formed) session id answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const { http } = await make();
    expectError(await http.get('/v2/r/blobs/uploads/0b0e8a5c-4c4f-4f57-9d2a-2b7c0f3c9e11'), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('methods other than POST need a session in the URL: 405 with Allow: POST', async () => {
    const { http } = await make();
    for (const method of ['get', 'patch', 'put', 'delete'] as const) {
      const res = await http[method]('/v2/r/blobs/uploads/');
      expectError(res, 405, 'UNSUPPORTED');
      expect(res.headers.allow).toBe('POST');
    }
  });

  it('accepts sha512 digests: session PUT, monolithic POST and mount', async () => {
    const { http } = await make();
    const bytes = randomBlob(333);
    const digest = sha512(bytes);
    const location = await startSession(http, 'sha512');
    await http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes.subarray(0, 100)).expect(202);
    const put = await http.put(`${location}?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes.subarray(100));
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(digest);
    const got = await raw(http.get(`/v2/sha512/blobs/${digest}`));
    expect(got.status).toBe(200);
    expect(got.headers['docker-content-digest']).toBe(digest);
    expect(got.body.equals(bytes)).toBe(true);

    const other = randomBlob(10);
    const mono = await http.post(`/v2/sha512/blobs/uploads/?digest=${sha512(other)}`).set('Content-Type', 'application/octet-stream').send(other);
    expect(mono.status).toBe(201);
    expect((await http.post(`/v2/copy/blobs/uploads/?mount=${digest}&from=sha512`)).status).toBe(201);
    expect((await raw(http.get(`/v2/copy/blobs/${digest}`))).body.equals(bytes)).toBe(true);
    const wrong = await http.post(`/v2/sha512/blobs/uploads/?digest=${sha512(randomBlob(4))}`).set('Content-Type', 'application/octet-stream').send(other);
    expectError(wrong, 400, 'DIGEST_INVALID');
  });

  it('rejects an unsupported algorithm (md5) with 400 DIGEST_INVALID, on POST and PUT', async () => {
    const reg = await make();
    const { http } = reg;
    const bytes = randomBlob(10);
    const md5 = `md5:${'0'.repeat(32)}`;
    const post = await http.post(`/v2/algo/blobs/uploads/?digest=${md5}`).set('Content-Type', 'application/octet-stream').send(bytes);
    const message = expectError(post, 400, 'DIGEST_INVALID');
    expect(message).toMatch(/md5/);
    await expectNoSessions(reg);
    const location = await startSession(http, 'algo');
    expectError(await http.put(`${location}?digest=${md5}`).set('Content-Type', 'application/octet-stream').send(bytes), 400, 'DIGEST_INVALID');
    expectError(await http.put(`${location}?digest=sha256:${'0'.repeat(10)}`), 400, 'DIGEST_INVALID');
  });

  it('continues a chunked upload after a restart (a new app and a new driver on the same storage)', async () => {
    const first = await make();
    const bytes = randomBlob(3000);
    const digest = sha256(bytes);
    const location = await startSession(first.http, 'restart/me');
    await patchChunk(first.http, location, bytes.subarray(0, 1000), 0).expect(202);
    await patchChunk(first.http, location, bytes.subarray(1000, 2000), 1000).expect(202);

    const second = await first.restart();
    expect(second.url).not.toBe(first.url);
    if (driverName === 'filesystem') expect(second.driver).not.toBe(first.driver);
    const status = await second.http.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-1999');
    const chunk = await patchChunk(second.http, location, bytes.subarray(2000, 2500), 2000);
    expect(chunk.status).toBe(202);
    expect(chunk.headers.range).toBe('0-2499');
    const put = await second.http.put(`${location}?digest=${digest}`).set('Content-Type', 'application/octet-stream').send(bytes.subarray(2500));
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(digest);
    const got = await raw(second.http.get(`/v2/restart/me/blobs/${digest}`));
    expect(got.status).toBe(200);
    expect(sha256(got.body)).toBe(digest);
    expect(got.body.equals(bytes)).toBe(true);
    await expectNoSessions(second);
  });

  it('after a restart, a wrong digest is still detected (the bytes are re-hashed)', async () => {
    const first = await make();
    const bytes = randomBlob(1000);
    const location = await startSession(first.http, 'restart');
    await first.http.patch(location).set('Content-Type', 'application/octet-stream').send(bytes).expect(202);
    const second = await first.restart();
    const wrong = sha256(Buffer.concat([bytes, Buffer.from('x')]));
    expectError(await second.http.put(`${location}?digest=${wrong}`), 400, 'DIGEST_INVALID');
    await expectNoBlob(second.driver, 'restart', sha256(bytes));
    expectError(await second.http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('a session started before a restart can be cancelled after it', async () => {
    const first = await make();
    const location = await startSession(first.http, 'restart');
    const second = await first.restart();
    expect((await second.http.delete(location)).status).toBe(204);
    expectError(await second.http.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('an aborted monolithic POST leaves no blob, no link and no session, and is no server error', async () => {
    const { logger, lines } = capturingLogger('debug');
    const reg = await make({ logger });
    const bytes = randomBlob(64 * 1024);
    const digest = sha256(bytes);
    await new Promise<void>((done) => {
      const req = httpRequest(`${reg.url}/v2/aborted/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
      });
      req.on('error', () => done());
      req.on('response', () => done());
      req.write(bytes.subarray(0, 1000), () => {
        // let the server take the first bytes in, then cut the connection
        void eventually(async () => (await reg.driver.list(layout.UPLOADS)).length > 0, 'the session to start').then(() => req.destroy());
      });
    });
    await eventually(async () => (await reg.driver.list(layout.UPLOADS)).length === 0, 'the aborted session to be removed');
    await expectNoBlob(reg.driver, 'aborted', digest);
    expectError(await reg.http.head(`/v2/aborted/blobs/${digest}`), 404, 'NAME_UNKNOWN');
    await eventually(async () => lines.some((l) => l.msg === 'client closed the connection'), 'the disconnect to be logged');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('an aborted PATCH leaves no blob; the session keeps what arrived and can be resumed', async () => {
    const { logger, lines } = capturingLogger('debug');
    const reg = await make({ logger });
    const { http } = reg;
    const bytes = randomBlob(20_000);
    const digest = sha256(bytes);
    const location = await startSession(http, 'aborted');
    await new Promise<void>((done) => {
      const req = httpRequest(`${reg.url}${location}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.length) },
      });
      req.on('error', () => done());
      req.on('response', () => done());
      req.write(bytes.subarray(0, 5000), () => {
        void eventually(async () => (await http.get(location)).headers.range === '0-4999', 'the first 5000 bytes to arrive').then(() => req.destroy());
      });
    });
    await expectNoBlob(reg.driver, 'aborted', digest);
    await eventually(async () => lines.some((l) => l.msg === 'client closed the connection'), 'the disconnect to be logged');
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const status = await http.get(location);
    expect(status.status).toBe(204);
    expect(status.headers.range).toBe('0-4999');
    // resume from the reported offset
    const rest = await patchChunk(http, location, bytes.subarray(5000), 5000);
    expect(rest.status).toBe(202);
    expect(rest.headers.range).toBe('0-19999');
    expect((await http.put(`${location}?digest=${digest}`)).status).toBe(201);
    expect((await raw(http.get(`/v2/aborted/blobs/${digest}`))).body.equals(bytes)).toBe(true);
  });

  it('two repositories pushing the same blob each get a link; the bytes are stored once', async () => {
    const { http, driver } = await make();
    const bytes = randomBlob(200);
    const a = await pushBlob(http, 'one', bytes);
    const b = await pushBlob(http, 'two', bytes);
    expect(a.digest).toBe(b.digest);
    expect((await raw(http.get(`/v2/one/blobs/${a.digest}`))).body.equals(bytes)).toBe(true);
    expect((await raw(http.get(`/v2/two/blobs/${a.digest}`))).body.equals(bytes)).toBe(true);
    const hex = a.digest.slice('sha256:'.length);
    expect(await driver.list(`/blobs/sha256/${hex.slice(0, 2)}`)).toEqual([hex]);
  });
});
