/**
 * The notification receiver of `npm run bench -- --observability`, run as a process of its own so
 * that it never takes turns with the load generator's event loop (autocannon runs in the bench
 * process). It does what a receiver must and nothing more: drains each delivery, counts its events
 * (occurrences of `"action"`, one per event of Distribution's envelope, found without parsing) and
 * answers 202. Prints `{"url": ...}` on stdout once listening; `GET /count` answers
 * `{"events", "deliveries", "cpuSeconds"}` (user + system CPU of this process, so the bench can say
 * what the receiver cost the shared cores).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const ACTION = Buffer.from('"action"');

/** Occurrences of {@link ACTION} in `chunks`, a key split across two chunks included. */
function countActions(chunks: Buffer[]): number {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let count = 0;
  for (let at = body.indexOf(ACTION); at !== -1; at = body.indexOf(ACTION, at + ACTION.length)) count += 1;
  return count;
}

let events = 0;
let deliveries = 0;
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    const cpu = process.cpuUsage();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ events, deliveries, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    events += countActions(chunks);
    deliveries += 1;
    res.statusCode = 202;
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events` })}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
