/**
 * The access log says what happened on the wire (outside testing: a download the client cut after
 * 6 MiB was logged with the blob's full length and 200; an upload whose client went away as 200): the
 * body bytes actually sent and received, and `aborted` with the status only when one was sent.
 */
import { request as httpRequest } from 'node:http';
import { expect, it } from 'vitest';
import { capturingLogger, eventually, forEachDriver, pushBlob, sha256, type LogLine } from './harness.js';

const MiB = 1024 * 1024;

interface AccessLine extends LogLine {
  req: { method: string; path: string; bytes: number };
  res: { status: number | null; bytes: number };
  aborted?: boolean;
}

function accessLines(lines: LogLine[], path: string): AccessLine[] {
  return lines.filter((l): l is AccessLine => typeof l.req === 'object' && (l.req as { path?: string }).path === path);
}

forEachDriver((make) => {
  it('counts the bytes of whole requests and answers; a HEAD sends no body bytes', async () => {
    const { logger, lines } = capturingLogger();
    const { http } = await make({ logger });
    const blob = await pushBlob(http, 'log/app', Buffer.alloc(100_000, 1));
    await http.get(`/v2/log/app/blobs/${blob.digest}`);
    await http.head(`/v2/log/app/blobs/${blob.digest}`);
    const path = `/v2/log/app/blobs/${blob.digest}`;
    await eventually(async () => accessLines(lines, path).length === 2, 'two access log lines');
    const [get, head] = accessLines(lines, path);
    expect(get).toMatchObject({ msg: 'request', req: { method: 'GET', bytes: 0 }, res: { status: 200, bytes: 100_000 } });
    expect(get!.aborted).toBeUndefined();
    expect(head).toMatchObject({ msg: 'request', req: { method: 'HEAD' }, res: { status: 200, bytes: 0 } });
    const put = lines.find((l) => (l as AccessLine).req?.method === 'PUT') as AccessLine;
    expect(put).toMatchObject({ req: { bytes: 100_000 }, res: { status: 201, bytes: 0 } });
  });

  it('a download the client cut after 6 MiB: aborted, status 200, fewer bytes than the blob', async () => {
    const { logger, lines } = capturingLogger();
    const { http, url } = await make({ logger });
    const blob = await pushBlob(http, 'cut/app', Buffer.alloc(64 * MiB, 7));
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${url}/v2/cut/app/blobs/${blob.digest}`, (res) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= 6 * MiB) {
            res.destroy();
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => undefined);
      req.end();
      setTimeout(() => reject(new Error('not 6 MiB within 10 s')), 10_000).unref();
    });
    const path = `/v2/cut/app/blobs/${blob.digest}`;
    await eventually(async () => accessLines(lines, path).length === 1, 'the download logged');
    const [line] = accessLines(lines, path);
    expect(line).toMatchObject({ msg: 'request aborted', aborted: true, res: { status: 200 } });
    expect(line!.level).toBe(40);
    expect(line!.res.bytes).toBeGreaterThanOrEqual(received);
    expect(line!.res.bytes).toBeLessThan(blob.size);
  });

  it('an upload whose client went away: aborted, no status (none was sent), the bytes received', async () => {
    const { logger, lines } = capturingLogger();
    const { url } = await make({ logger });
    const sent = Buffer.alloc(100_000, 3);
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${url}/v2/gone/app/blobs/uploads/?digest=${sha256(Buffer.alloc(MiB, 3))}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(MiB) },
      });
      req.on('error', () => resolve());
      req.write(sent, () => setTimeout(() => req.destroy(), 100));
    });
    await eventually(async () => accessLines(lines, '/v2/gone/app/blobs/uploads/').length === 1, 'the upload logged');
    const [line] = accessLines(lines, '/v2/gone/app/blobs/uploads/');
    expect(line).toMatchObject({ msg: 'request aborted', aborted: true, req: { method: 'POST', bytes: sent.length }, res: { status: null, bytes: 0 } });
  });
});
