/**
 * The machine's ceilings, measured in the same run as the servers: sha256 on one core (Node's
 * crypto, i.e. OpenSSL), sequential write of a new file (with one fsync at the end), and loopback TCP
 * throughput (a client on the main thread, a sink on a worker thread, so each has a core).
 */
import { createHash } from 'node:crypto';
import { createConnection } from 'node:net';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { BLOCK } from './data.js';

const MiB = 1024 * 1024;

/** sha256 throughput of one core over `bytes` bytes, in MiB/s. */
export function sha256MiBps(bytes: number): number {
  const buffer = Buffer.alloc(BLOCK, 7);
  const hash = createHash('sha256');
  const start = process.hrtime.bigint();
  for (let done = 0; done < bytes; done += BLOCK) hash.update(buffer);
  hash.digest();
  return bytes / MiB / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Sequential write of a new `bytes`-byte file in `dir` in 8 MiB writes, fsync at the end, in MiB/s; the file is removed. */
export async function diskWriteMiBps(dir: string, bytes: number): Promise<number> {
  const path = join(dir, 'ceiling-write.bin');
  const buffer = Buffer.alloc(8 * MiB, 1);
  const start = process.hrtime.bigint();
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < bytes; done += buffer.length) await handle.write(buffer, 0, Math.min(buffer.length, bytes - done));
    await handle.sync();
  } finally {
    await handle.close();
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await rm(path, { force: true });
  return bytes / MiB / seconds;
}

const SINK = `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer((socket) => {
  let bytes = 0;
  socket.on('data', (chunk) => { bytes += chunk.length; });
  socket.on('end', () => { socket.end(); parentPort.postMessage({ received: bytes }); });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
`;

/** Loopback TCP throughput sending `bytes` bytes from a reused 1 MiB buffer to a sink on another thread, in MiB/s. */
export async function loopbackMiBps(bytes: number): Promise<number> {
  const worker = new Worker(SINK, { eval: true });
  try {
    const port = await new Promise<number>((resolve) => worker.once('message', (m: { port: number }) => resolve(m.port)));
    const buffer = Buffer.alloc(BLOCK, 3);
    const received = new Promise<number>((resolve) => worker.once('message', (m: { received: number }) => resolve(m.received)));
    const start = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const socket = createConnection(port, '127.0.0.1');
      socket.on('error', reject);
      socket.on('connect', () => {
        let sent = 0;
        const pump = () => {
          while (sent < bytes) {
            sent += buffer.length;
            if (!socket.write(buffer)) return void socket.once('drain', pump);
          }
          socket.end();
        };
        pump();
      });
      socket.on('close', () => resolve());
      socket.resume();
    });
    const got = await received;
    return got / MiB / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    await worker.terminate();
  }
}
