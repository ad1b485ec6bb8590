/**
 * Upload sessions survive a restart of the real server (DESIGN.md, "Storage": "an upload session
 * survives a restart of the server"): a chunked upload started before SIGTERM or SIGKILL continues
 * afterwards, and an upload that was never finished never makes its blob visible.
 * Plain HTTP with Node's global fetch (undici); one request with a half-sent body uses node:http.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startWharf, waitFor, type WharfServer } from './helpers.js';

const MiB = 1024 * 1024;

/** `sha256:<hex>` of bytes. */
function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Describes a response for assertion messages: status, headers, body, and the server's log. */
async function describeResponse(what: string, res: Response, server: WharfServer): Promise<string> {
  const body = await res.clone().text().catch(() => '');
  const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return `${what} -> ${res.status}\n${headers}\n\n${body.slice(0, 2000)}\n--- server output ---\n${server.logs().slice(-8000)}`;
}

/** The session URL from a response's Location header (resolved against the server URL). */
function locationOf(res: Response, server: WharfServer): string {
  const location = res.headers.get('location');
  if (!location) throw new Error(`no Location header on ${res.status} response`);
  return new URL(location, server.url).toString();
}

/** POST /v2/<name>/blobs/uploads/ -> 202; returns the session URL. */
async function startUpload(server: WharfServer, name: string): Promise<string> {
  const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  expect(res.status, await describeResponse(`POST /v2/${name}/blobs/uploads/`, res, server)).toBe(202);
  return locationOf(res, server);
}

/** PATCH one chunk at `start` with Content-Range -> 202 and Range 0-<end>; returns the next session URL. */
async function patchChunk(server: WharfServer, session: string, chunk: Uint8Array, start: number): Promise<string> {
  const end = start + chunk.length - 1;
  const res = await fetch(session, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end}` },
    body: chunk,
  });
  const what = `PATCH ${session} Content-Range ${start}-${end}`;
  expect(res.status, await describeResponse(what, res, server)).toBe(202);
  expect(res.headers.get('range'), await describeResponse(what, res, server)).toBe(`0-${end}`);
  return locationOf(res, server);
}

/** GET the upload's status -> 204; returns the Range header and the session URL to continue with. */
async function uploadStatus(server: WharfServer, session: string): Promise<{ range: string | null; session: string }> {
  const res = await fetch(session);
  expect(res.status, await describeResponse(`GET ${session}`, res, server)).toBe(204);
  expect(res.headers.get('docker-upload-uuid'), await describeResponse(`GET ${session}`, res, server)).toBeTruthy();
  return { range: res.headers.get('range'), session: res.headers.get('location') ? locationOf(res, server) : session };
}

/** PUT <session>?digest=... -> 201 with Docker-Content-Digest. */
async function finishUpload(server: WharfServer, session: string, digest: string): Promise<void> {
  const url = new URL(session);
  url.searchParams.set('digest', digest);
  const res = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': '0' } });
  expect(res.status, await describeResponse(`PUT ${url}`, res, server)).toBe(201);
  expect(res.headers.get('docker-content-digest')).toBe(digest);
}

/** GET the blob: 200, the right length and sha256. */
async function expectBlob(server: WharfServer, name: string, bytes: Uint8Array): Promise<void> {
  const digest = sha256(bytes);
  const res = await fetch(`${server.url}/v2/${name}/blobs/${digest}`);
  expect(res.status, await describeResponse(`GET /v2/${name}/blobs/${digest}`, res, server)).toBe(200);
  const body = new Uint8Array(await res.arrayBuffer());
  expect(body.length).toBe(bytes.length);
  expect(sha256(body)).toBe(digest);
  expect(res.headers.get('docker-content-digest')).toBe(digest);
}

/** HEAD the blob and expect 404: it is not visible. */
async function expectNoBlob(server: WharfServer, name: string, digest: string): Promise<void> {
  for (const method of ['HEAD', 'GET']) {
    const res = await fetch(`${server.url}/v2/${name}/blobs/${digest}`, { method });
    expect(res.status, await describeResponse(`${method} /v2/${name}/blobs/${digest}`, res, server)).toBe(404);
  }
}

/** The total size of all files under a directory (how much the server has written so far). */
async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

describe('upload sessions across a server restart', () => {
  let server: WharfServer | undefined;
  afterEach(async () => {
    await server?.dispose();
    server = undefined;
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`continues a chunked upload after ${signal}`, async () => {
      server = await startWharf();
      const name = `restart/${signal.toLowerCase()}`;
      const first = randomBytes(3 * MiB);
      const second = randomBytes(2 * MiB + 12_345);
      const blob = Buffer.concat([first, second]);

      let session = await startUpload(server, name);
      session = await patchChunk(server, session, first, 0);

      const exit = await server.stop(signal);
      if (signal === 'SIGTERM') {
        // A clean shutdown: exit code 0 or the default SIGTERM death, not our SIGKILL fallback.
        expect(exit.signal === 'SIGTERM' || exit.code === 0, `exit ${JSON.stringify(exit)}\n${server.logs()}`).toBe(true);
      }
      await server.restart();

      const status = await uploadStatus(server, session);
      expect(status.range).toBe(`0-${first.length - 1}`);
      session = await patchChunk(server, status.session, second, first.length);
      await expectNoBlob(server, name, sha256(blob));
      await finishUpload(server, session, sha256(blob));
      await expectBlob(server, name, blob);
    });
  }

  it('never makes the blob of an unfinished upload visible, even with all bytes sent before SIGKILL', async () => {
    server = await startWharf();
    const name = 'restart/unfinished';
    const blob = randomBytes(3 * MiB + 7);
    const digest = sha256(blob);

    let session = await startUpload(server, name);
    session = await patchChunk(server, session, blob, 0);
    await expectNoBlob(server, name, digest);

    await server.restart('SIGKILL');
    await expectNoBlob(server, name, digest);
    await expectNoBlob(server, 'restart/other', digest);

    // The session is still there and can be finished; only then is the blob visible.
    const status = await uploadStatus(server, session);
    expect(status.range).toBe(`0-${blob.length - 1}`);
    await finishUpload(server, status.session, digest);
    await expectBlob(server, name, blob);
  });

  it('after SIGKILL in the middle of a PATCH, the blob stays invisible and the upload resumes (or is reported unknown)', async () => {
    server = await startWharf();
    const name = 'restart/cut';
    const first = randomBytes(1 * MiB);
    const rest = randomBytes(4 * MiB);
    const blob = Buffer.concat([first, rest]);
    const digest = sha256(blob);

    let session = await startUpload(server, name);
    session = await patchChunk(server, session, first, 0);
    const before = await bytesUnder(server.root);

    // Announce the whole rest (Content-Length, Content-Range) but send only its first half.
    const url = new URL(session);
    const req = request(url, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(rest.length),
        'Content-Range': `${first.length}-${blob.length - 1}`,
      },
    });
    const settled = new Promise<void>((resolve) => {
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => req.write(rest.subarray(0, 2 * MiB), (e) => (e ? reject(e) : resolve())));
    // Give the server the chance to store part of it (when it writes to disk as bytes arrive):
    // wait until the storage grew by 1 MiB, or go on after 3 s (a server may buffer in memory).
    await waitFor('the server to store part of the cut PATCH', async () => (await bytesUnder(server!.root)) >= before + MiB, {
      timeoutMs: 3_000,
      intervalMs: 25,
    }).catch(() => undefined);

    await server.restart('SIGKILL');
    req.destroy();
    await settled;

    await expectNoBlob(server, name, digest);
    // Either the session continues from what the server says it stored (Wharf's design), or the
    // server declares the session lost (CNCF Distribution does: BLOB_UPLOAD_INVALID) and the client
    // starts over. A 5xx, a Range beyond what was sent, or a corrupt blob are failures.
    const res = await fetch(session);
    const what = await describeResponse(`GET ${session} after the cut PATCH`, res, server);
    expect([204, 404], what).toContain(res.status);
    console.info(`[e2e] after the cut PATCH: ${res.status} Range ${res.headers.get("range")}`);
    if (res.status === 204) {
      const m = /^0-(\d+)$/.exec(res.headers.get('range') ?? '');
      expect(m, what).not.toBeNull();
      const stored = Number(m![1]) + 1;
      expect(stored, what).toBeGreaterThanOrEqual(first.length);
      expect(stored, what).toBeLessThanOrEqual(first.length + 2 * MiB);
      const next = res.headers.get('location') ? locationOf(res, server) : session;
      session = await patchChunk(server, next, blob.subarray(stored), stored);
    } else {
      const body = (await res.json()) as { errors?: { code?: string }[] };
      expect(body.errors?.[0]?.code, what).toMatch(/^BLOB_UPLOAD_(UNKNOWN|INVALID)$/);
      session = await startUpload(server, name);
      session = await patchChunk(server, session, blob, 0);
    }
    await expectNoBlob(server, name, digest);
    await finishUpload(server, session, digest);
    await expectBlob(server, name, blob);
  });
});
