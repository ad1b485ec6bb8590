/** Range headers of blob GETs (RFC 9110 section 14): one or several ranges, coalescing, the cap, 416; the multipart framing. */
import { describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/oci/errors.js';
import { MAX_RANGES, parseRanges, planMultipart } from '../../src/routes/byte-ranges.js';

describe('parseRanges', () => {
  it.each([
    ['bytes=0-9', 100, [{ start: 0, end: 9 }]],
    ['bytes=90-', 100, [{ start: 90, end: 99 }]],
    ['bytes=-10', 100, [{ start: 90, end: 99 }]],
    ['bytes=-1000', 100, [{ start: 0, end: 99 }]],
    ['bytes=50-1000', 100, [{ start: 50, end: 99 }]],
    [undefined, 100, undefined],
    ['items=0-1', 100, undefined],
    ['bytes=9-1', 100, undefined],
    ['bytes=0-1,x', 100, undefined],
    ['bytes=', 100, undefined],
  ])('%s of %d bytes', (header, size, want) => {
    expect(parseRanges(header, size)).toEqual(want);
  });

  it('several ranges, in the order asked, whitespace and empty list elements allowed', () => {
    expect(parseRanges('bytes=0-99, 1000-1099', 5000)).toEqual([
      { start: 0, end: 99 },
      { start: 1000, end: 1099 },
    ]);
    expect(parseRanges('bytes=50-59,,0-9', 100)).toEqual([
      { start: 50, end: 59 },
      { start: 0, end: 9 },
    ]);
  });

  it('keeps adjacent ranges apart (containers/image matches parts to its chunks one to one)', () => {
    expect(parseRanges('bytes=0-9,10-19,20-29', 100)).toEqual([
      { start: 0, end: 9 },
      { start: 10, end: 19 },
      { start: 20, end: 29 },
    ]);
  });

  it('coalesces overlapping ranges, in offset order', () => {
    expect(parseRanges('bytes=50-60,0-9,55-70,5-20', 100)).toEqual([
      { start: 0, end: 20 },
      { start: 50, end: 70 },
    ]);
    // the same bytes asked for a thousand times are sent once
    expect(parseRanges(`bytes=${Array.from({ length: 1000 }, () => '0-').join(',')}`, 100)).toEqual([{ start: 0, end: 99 }]);
  });

  it('drops unsatisfiable ranges beside satisfiable ones', () => {
    expect(parseRanges('bytes=0-9,500-600,-0', 100)).toEqual([{ start: 0, end: 9 }]);
  });

  it(`sends the whole blob for more than ${MAX_RANGES} ranges`, () => {
    const specs = (n: number) => `bytes=${Array.from({ length: n }, (_, i) => `${i * 10}-${i * 10 + 4}`).join(',')}`;
    expect(parseRanges(specs(MAX_RANGES), 100_000)).toHaveLength(MAX_RANGES);
    expect(parseRanges(specs(MAX_RANGES + 1), 100_000)).toBeUndefined();
  });

  it.each([
    ['bytes=100-', 100],
    ['bytes=100-200', 100],
    ['bytes=0-0', 0],
    ['bytes=-0', 100],
    ['bytes=200-300,100-', 100],
  ])('%s of %d bytes is unsatisfiable: 416 with Content-Range: bytes */size', (header, size) => {
    try {
      parseRanges(header, size);
      throw new Error('expected RANGE_INVALID');
    } catch (err) {
      expect((err as RegistryError).code).toBe('RANGE_INVALID');
      expect((err as RegistryError).status).toBe(416);
      expect((err as RegistryError).headers['Content-Range']).toBe(`bytes */${size}`);
    }
  });
});

describe('planMultipart', () => {
  it('frames the parts as RFC 9110 section 14.6 shows, with the exact Content-Length', () => {
    const ranges = [
      { start: 0, end: 2 },
      { start: 7, end: 9 },
    ];
    const plan = planMultipart(ranges, 10);
    const boundary = /^multipart\/byteranges; boundary=([0-9a-f]{32})$/.exec(plan.contentType)![1];
    const data = Buffer.from('0123456789');
    const body = Buffer.concat([plan.heads[0]!, data.subarray(0, 3), plan.heads[1]!, data.subarray(7, 10), plan.tail]).toString('latin1');
    expect(body).toBe(
      `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-2/10\r\n\r\n012` +
        `\r\n--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 7-9/10\r\n\r\n789` +
        `\r\n--${boundary}--\r\n`,
    );
    expect(plan.contentLength).toBe(Buffer.byteLength(body, 'latin1'));
  });
});
