/**
 * The bench's autocannon load (bench/workloads.ts `load`) measures the server's rate, not the size of
 * the load: autocannon ends a run of a fixed amount at its next sample tick, and with its default 1 s
 * tick every server faster than `amount` per second read as about `amount` req/s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { load } from '../../bench/workloads.js';

describe('bench load', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads a fast server above the load size per second (200 requests answered well under 1 s)', async () => {
    const result = await load(url, { amount: 200, connections: 16 });
    // with 1 s ticks this read at most 200 req/s however fast the server answered
    expect(result.rps).toBeGreaterThan(400);
  });
});
