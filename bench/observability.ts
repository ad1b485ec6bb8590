/**
 * `npm run bench -- --observability`: the cost of metrics and notifications. The second server is a
 * Wharf with `http.debug.prometheus` on and one notification endpoint (a sink in this process that
 * answers 202 to every delivery), measured in the Distribution column, alternating with a plain
 * Wharf; the note gives the cost on the manifest GET and blob push figures.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarize } from './stats.js';
import { freePort } from './servers.js';
import type { Results } from './report.js';

/** A webhook sink: counts the events it received. */
export interface Sink {
  url: string;
  received(): number;
  stop(): Promise<void>;
}

/** Starts the sink on a loopback port. */
export async function startSink(): Promise<Sink> {
  let events = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      events += (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: unknown[] }).events.length;
      res.statusCode = 202;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received: () => events,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * What turns metrics and notifications on: `notifications` (one signed endpoint, the sink) as YAML
 * lines, and `http.debug` (Prometheus on a free port) as environment overrides, since the shared
 * configuration file already has its `http` block.
 */
export async function observabilityConfig(sinkUrl: string): Promise<{ yaml: string; env: Record<string, string> }> {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  return {
    yaml: `notifications:\n  endpoints: [{name: bench, url: "${sinkUrl}", secret: "${secret}"}]\n`,
    env: { WHARF_HTTP_DEBUG_ADDR: `127.0.0.1:${await freePort()}`, WHARF_HTTP_DEBUG_PROMETHEUS_ENABLED: 'true' },
  };
}

/** One line: the cost of metrics and notifications on the manifest GET and blob push medians, and the events delivered. */
export function observabilityCost(results: Results, delivered: number): string {
  const cost = (key: string): string => {
    const entry = results.samples.get(key);
    const plain = summarize(entry?.wharf ?? [])?.median;
    const observed = summarize(entry?.distribution ?? [])?.median;
    return plain && observed ? `${((1 - observed / plain) * 100).toFixed(1)} %` : 'n/a';
  };
  return (
    `cost of metrics and notifications (1 - observed/plain, medians): manifest GET by tag ${cost('get-tag')}, manifest HEAD by digest ${cost('head-digest')}, ` +
    `blob push monolithic ${cost('push-monolithic')}, streamed ${cost('push-streamed')}, chunked ${cost('push-chunked')}; ${delivered} events delivered to the sink`
  );
}
