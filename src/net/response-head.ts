/**
 * The head of an HTTP/1.1 answer read from a plain TCP socket: gathered until its blank line, then
 * its status and headers, shaped as Node's `IncomingMessage` gives them. Used by the two readers that
 * take large bodies from a socket of their own instead of Node's HTTP client (which reads 64 KiB at a
 * time through a parser callback): the registry client's blob GETs (client/socket-get.ts) and the S3
 * driver's large object GETs (storage/s3-large-get.ts). RFC 9112 section 2.1 (message format:
 * status line, field lines, CRLF, body) and section 4 (status line).
 */

/** Bytes of status line and headers accepted before the answer is given up on. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** Headers Node's HTTP client keeps the first of when repeated (`IncomingMessage`); others are joined with `, `. */
const SINGLE = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/** An answer's status line and headers (lowercase names; `set-cookie` a list, as Node's client gives it). */
export interface ResponseHead {
  /** the status code, NaN when the first line is not an `HTTP/1.x` status line */
  status: number;
  /** the status line as received */
  statusLine: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Parses `head` (the bytes before the blank line, as latin1 text) into status and headers. */
export function parseResponseHead(head: string): ResponseHead {
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
  const headers: ResponseHead['headers'] = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers[name];
    if (name === 'set-cookie') headers[name] = [...((before as string[] | undefined) ?? []), value];
    else if (before === undefined) headers[name] = value;
    else if (!SINGLE.has(name)) headers[name] = `${before as string}, ${value}`;
  }
  return { status, statusLine, headers };
}

/**
 * Gathers an answer's first bytes until its head is complete. Each {@link HeadGatherer.add} takes one
 * socket read (copied when kept, so the caller may read into the same memory again).
 */
export class HeadGatherer {
  #parts: Buffer[] = [];
  #bytes = 0;

  /**
   * Takes the next bytes read. @returns the head (as latin1 text) and the body's bytes that came with
   * it (a view of `bytes` or of a copy), or undefined while the blank line has not come
   * @throws RangeError when the head passes {@link MAX_HEAD_BYTES} without its blank line
   */
  add(bytes: Buffer): { head: string; rest: Buffer } | undefined {
    const all = this.#bytes === 0 ? bytes : Buffer.concat([...this.#parts, bytes]);
    const end = all.indexOf('\r\n\r\n');
    if (end >= 0) {
      this.#parts = [];
      this.#bytes = 0;
      return { head: all.subarray(0, end).toString('latin1'), rest: all.subarray(end + 4) };
    }
    this.#bytes += bytes.length;
    if (this.#bytes > MAX_HEAD_BYTES) throw new RangeError(`an answer head over ${MAX_HEAD_BYTES / 1024} KiB`);
    this.#parts.push(Buffer.from(bytes));
    return undefined;
  }
}
