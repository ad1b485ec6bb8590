/**
 * An import request whose multipart body a test sends in pieces, so that the test can act (push,
 * import, delete) while the import is part way through its tarball.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { binaryParser, eventually, type Client } from './harness.js';

/** An import in flight: more tarball bytes can be sent, then the request ended or dropped. */
export interface StreamedImport {
  /** sends more bytes of the tarball */
  send(bytes: Buffer): void;
  /** sends the last bytes of the tarball and the form's end; resolves with the answer */
  end(last: Buffer): Promise<{ status: number; body: Buffer }>;
  /** drops the connection, as a killed client does */
  drop(): void;
}

/**
 * Starts `POST /admin/v1/import` of `url` with the field `reference` and the start of the file
 * `tarball` (`first`), sent with chunked transfer encoding.
 */
export function startImport(url: string, reference: string, first: Buffer): StreamedImport {
  const boundary = `wharf-${randomBytes(8).toString('hex')}`;
  const req = httpRequest(`${url}/admin/v1/import`, {
    method: 'POST',
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Transfer-Encoding': 'chunked' },
  });
  const answer = new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => binaryParser(res, (err, body) => (err ? reject(err) : resolve({ status: res.statusCode!, body }))));
  });
  answer.catch(() => undefined); // a dropped request has no answer
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="reference"\r\n\r\n${reference}\r\n`);
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="tarball"; filename="image.tar"\r\nContent-Type: application/x-tar\r\n\r\n`);
  req.write(first);
  return {
    send: (bytes) => void req.write(bytes),
    end: (last) => {
      req.end(Buffer.concat([last, Buffer.from(`\r\n--${boundary}--\r\n`)]));
      return answer;
    },
    drop: () => req.destroy(),
  };
}

/** Upload session and blob totals of `GET /admin/v1/storage`. */
async function storage(http: Client): Promise<{ blobs: { count: number; bytes: number }; uploads: { count: number; bytes: number } }> {
  return (await http.get('/admin/v1/storage')).body as { blobs: { count: number; bytes: number }; uploads: { count: number; bytes: number } };
}

/**
 * Waits until the registry's upload sessions hold at least `bytes` bytes: an import that has
 * received that many bytes of its current entry has stored every entry before it.
 */
export async function untilUploadsHold(http: Client, bytes: number): Promise<void> {
  await eventually(async () => (await storage(http)).uploads.bytes >= bytes, `upload sessions holding ${bytes} bytes`);
}

/** Waits until the registry's blobs and upload sessions hold at least `bytes` bytes together. */
export async function untilStored(http: Client, bytes: number): Promise<void> {
  await eventually(async () => {
    const { blobs, uploads } = await storage(http);
    return blobs.bytes + uploads.bytes >= bytes;
  }, `${bytes} bytes stored`);
}

/** Waits until no upload session is left. */
export async function untilNoUploads(http: Client): Promise<void> {
  await eventually(async () => (await storage(http)).uploads.count === 0, 'no upload session');
}
