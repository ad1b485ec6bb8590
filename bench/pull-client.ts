/**
 * The bench's client for blob pulls: one HTTP/1.1 GET per pull over its own connection, reading the
 * socket into one reused 1 MiB buffer (`net.connect`'s `onread`) and counting the bytes.
 *
 * Why not node:http, which the bench's other requests use: its client reads a socket 64 KiB at a time
 * and runs the HTTP parser, a fresh Buffer and a stream `data` event per read. Measured on this 2-core
 * machine (bench/s3-pull-cpu.ts, 256 MiB pulls from both registries on RGW): 1.6-2.6 CPU-seconds per
 * GiB received, more than RGW (about 1.2) and three to four times either registry's relay (0.5-0.7),
 * so the bench measured its own client on cores it shares with the servers. This client takes
 * 0.2-0.3, as curl does (about 0.02) or a Go client like containerd's would; both registries are
 * pulled through it alike.
 */
import { connect } from 'node:net';

/** Bytes one socket read takes at most. */
const READ_BYTES = 1024 * 1024;
/** Bytes of status line and headers accepted. */
const MAX_HEAD = 64 * 1024;

/** What a pull received. */
export interface PullAnswer {
  status: number;
  /** bytes of body received (the body itself is dropped) */
  bytes: number;
}

/**
 * GETs `url` (plain `http:`) and counts the body's bytes: a `Content-Length` body, or one framed by
 * the connection's close.
 * @throws Error on a connection error, a head over 64 KiB, chunked framing, or a body shorter than its `Content-Length`
 */
export function pullBody(url: URL): Promise<PullAnswer> {
  const buffer = Buffer.allocUnsafe(READ_BYTES);
  return new Promise((resolve, reject) => {
    let head = '';
    let status = 0;
    let length: number | undefined;
    let bytes = -1; // -1 until the head is read
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve({ status, bytes });
    };
    const onHead = (n: number): void => {
      head += buffer.toString('latin1', 0, n);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) finish(new Error(`GET ${url.pathname}: an answer head over 64 KiB`));
        return;
      }
      const lines = head.slice(0, end).split('\r\n');
      status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
      for (const line of lines.slice(1)) {
        const [name, value] = [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()];
        if (name === 'content-length') length = Number(value);
        if (name === 'transfer-encoding') return finish(new Error(`GET ${url.pathname}: transfer-encoding ${value} is not read here`));
      }
      bytes = head.length - end - 4;
    };
    const socket = connect({
      host: url.hostname,
      port: Number(url.port || 80),
      noDelay: true,
      onread: {
        buffer,
        callback: (n) => {
          if (bytes < 0) onHead(n);
          else bytes += n;
          if (length !== undefined && bytes >= length) finish();
          return true;
        },
      },
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => {
      if (bytes < 0 || (length !== undefined && bytes < length)) finish(new Error(`GET ${url.pathname}: the connection closed after ${Math.max(bytes, 0)} of ${length ?? '?'} body bytes`));
      else finish();
    });
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`);
  });
}
