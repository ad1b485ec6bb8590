/**
 * A load generator for `HEAD` requests: autocannon's HTTP parser waits for a body after a HEAD
 * answer with a Content-Length, so HEAD gets this small driver instead: `connections` keep-alive
 * TCP connections, each sending one request, reading the answer's head (a HEAD answer has no body),
 * and sending the next, until `amount` requests were answered.
 */
import { createConnection, type Socket } from 'node:net';
import { percentile } from './stats.js';
import type { LoadResult, LoadSize } from './workloads.js';

const END_OF_HEAD = Buffer.from('\r\n\r\n');

/**
 * Drives `HEAD url` over `connections` connections until `amount` requests were answered.
 * @throws Error when an answer is not 2xx or a connection fails
 */
export async function headLoad(url: string, options: LoadSize & { connections: number; headers?: Record<string, string> }): Promise<LoadResult> {
  const target = new URL(url);
  const extra = Object.entries(options.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  const request = Buffer.from(`HEAD ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n${extra}\r\n`);
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  let sent = 0;
  const drive = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket: Socket = createConnection(Number(target.port), target.hostname);
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0n;
      const next = () => {
        if (sent >= options.amount) {
          socket.end();
          resolve();
          return;
        }
        sent += 1;
        sentAt = process.hrtime.bigint();
        socket.write(request);
      };
      socket.on('connect', next);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        let at: number;
        while ((at = pending.indexOf(END_OF_HEAD)) !== -1) {
          const status = Number(pending.subarray(9, 12).toString('latin1'));
          pending = pending.subarray(at + END_OF_HEAD.length);
          if (status < 200 || status > 299) {
            socket.destroy();
            reject(new Error(`HEAD ${url}: status ${status}`));
            return;
          }
          latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
          next();
        }
      });
    });
  await Promise.all(Array.from({ length: Math.min(options.connections, options.amount) }, drive));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { rps: latencies.length / seconds, p99: percentile(latencies, 99) ?? 0 };
}
