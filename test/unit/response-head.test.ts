/**
 * The head of an HTTP/1.1 answer read from a socket (src/net/response-head.ts): gathered across reads
 * until its blank line, parsed as Node's IncomingMessage shapes headers, and refused past 64 KiB.
 */
import { describe, expect, it } from 'vitest';
import { HeadGatherer, MAX_HEAD_BYTES, parseResponseHead } from '../../src/net/response-head.js';

describe('response heads (response-head.ts)', () => {
  it('parses the status and headers as Node gives them: lowercase names, repeats joined or first kept, set-cookie a list', () => {
    const head = parseResponseHead(
      'HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\ncontent-length: 99\r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nbroken line\r\n: empty name',
    );
    expect(head.status).toBe(206);
    expect(head.statusLine).toBe('HTTP/1.1 206 Partial Content');
    expect(head.headers).toEqual({ 'content-length': '10', 'x-a': '1, 2', 'set-cookie': ['a=1', 'b=2'] });
  });

  it('gives NaN for a first line that is not an HTTP/1.x status line', () => {
    expect(parseResponseHead('HTTP/2 200\r\nA: b').status).toBeNaN();
    expect(parseResponseHead('garbage').status).toBeNaN();
  });

  it('gathers a head split over reads, copies what it keeps, and hands back the body bytes that came with it', () => {
    const gatherer = new HeadGatherer();
    const read = Buffer.from('HTTP/1.1 200 OK\r\nContent-Le');
    expect(gatherer.add(read)).toBeUndefined();
    read.fill(0); // the caller reads into the same memory again
    const done = gatherer.add(Buffer.from('ngth: 3\r\n\r\nabc'));
    expect(done?.head).toBe('HTTP/1.1 200 OK\r\nContent-Length: 3');
    expect(done?.rest.toString()).toBe('abc');
    expect(new HeadGatherer().add(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'))).toEqual({ head: 'HTTP/1.1 204 No Content', rest: Buffer.alloc(0) });
  });

  it('refuses a head past 64 KiB without its blank line', () => {
    const gatherer = new HeadGatherer();
    const line = Buffer.from(`X-Pad: ${'a'.repeat(1000)}\r\n`);
    expect(() => {
      for (let sent = 0; sent <= MAX_HEAD_BYTES + line.length; sent += line.length) gatherer.add(line);
    }).toThrow(/head over 64 KiB/);
  });
});
