/**
 * HTTP metrics recorded by the access log (src/observability/http-metrics.ts): counts, durations and
 * body sizes of each request at the response's close, with no `close` listener of their own, and
 * prom-client's default process metrics without the per-GC observer.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpMetrics } from '../../src/observability/http-metrics.js';
import { Metrics } from '../../src/observability/metrics.js';
import { accessLog } from '../../src/routes/access-log.js';
import { Scrape } from '../support/prometheus.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** A server whose handler logs (and measures, with `metrics`) every request, then runs `handle`; @returns its base URL and the close listeners each response had */
async function serve(metrics: HttpMetrics | undefined, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ base: string; closeListeners: number[] }> {
  const log = accessLog(pino({ level: 'silent' }), metrics);
  const closeListeners: number[] = [];
  server = createServer((req, res) => {
    log(req, res);
    closeListeners.push(res.listenerCount('close'));
    handle(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, closeListeners };
}

function send(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('HTTP metrics at the access log', () => {
  it('counts requests by route template, method and status, with body sizes, in the access log\'s own close listener', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const answer = (req: IncomingMessage, res: ServerResponse): void => {
      req.resume();
      req.on('end', () => {
        if (req.headers.authorization) {
          res.statusCode = 401;
          res.end();
        } else if (req.method === 'HEAD') {
          res.setHeader('Content-Length', 5000);
          res.end();
        } else res.end(Buffer.alloc(req.url!.includes('/blobs/') ? 3000 : 700));
      });
    };
    const measured = await serve(new HttpMetrics(metrics), answer);
    expect(await send(`${measured.base}/v2/team/app/manifests/latest`, 'GET')).toBe(200);
    expect(await send(`${measured.base}/v2/other/app/manifests/v1`, 'HEAD')).toBe(200);
    expect(await send(`${measured.base}/v2/team/app/blobs/sha256:${'a'.repeat(64)}`, 'GET')).toBe(200);
    expect(await send(`${measured.base}/v2/team/app/blobs/uploads/`, 'POST', Buffer.alloc(1234))).toBe(200);
    expect(await send(`${measured.base}/v2/team/app/manifests/x`, 'GET', undefined, { Authorization: 'Basic eDp5' })).toBe(401);
    const m = new Scrape(await metrics.registry.metrics());
    const manifest = { handler: 'manifest', route: '/v2/{name}/manifests/{reference}' };
    expect(m.value('registry_http_requests_total', { ...manifest, method: 'GET', code: '200' })).toBe(1);
    expect(m.value('registry_http_requests_total', { ...manifest, method: 'HEAD', code: '200' })).toBe(1);
    expect(m.value('registry_http_requests_total', { ...manifest, method: 'GET', code: '401' })).toBe(1);
    expect(m.value('registry_http_request_duration_seconds', { ...manifest, method: 'GET' })).toBe(2);
    // body bytes: a HEAD answer has none whatever its Content-Length
    expect(m.value('registry_http_response_size_bytes', manifest, 'sum')).toBe(700);
    expect(m.value('registry_http_response_size_bytes', { handler: 'blob' }, 'sum')).toBe(3000);
    expect(m.value('registry_http_request_size_bytes', { handler: 'blob_upload' }, 'sum')).toBe(1234);
    expect(m.value('wharf_blob_bytes_served_total')).toBe(3000);
    expect(m.value('wharf_auth_failures_total', { reason: 'credentials' })).toBe(1);
    expect(m.value('registry_http_in_flight_requests', manifest)).toBe(0);
    // the same close listeners as the access log alone: the metrics add none per request
    await new Promise((r) => server!.close(r));
    const plain = await serve(undefined, answer);
    expect(await send(`${plain.base}/v2/team/app/manifests/latest`, 'GET')).toBe(200);
    expect(measured.closeListeners[0]).toBe(plain.closeListeners[0]);
  });

  it('counts a chunked upload\'s body bytes, and a cut download\'s bytes written, with nothing left in flight', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let cut: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (cut = resolve));
    const { base } = await serve(new HttpMetrics(metrics), (req, res) => {
      if (req.method === 'PATCH') {
        req.resume();
        req.on('end', () => res.writeHead(202).end());
      } else {
        res.once('close', cut);
        res.writeHead(200, { 'Content-Length': 10 * 65536 });
        res.write(Buffer.alloc(65536)); // then nothing: the client cuts the download
      }
    });
    const upload = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/v2/team/app/blobs/uploads/abc`, { method: 'PATCH' }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      for (let i = 0; i < 3; i++) req.write(Buffer.alloc(1000)); // no Content-Length: chunked
      req.end();
    });
    expect(upload).toBe(202);
    await new Promise<void>((resolve, reject) => {
      const req = request(`${base}/v2/team/app/blobs/sha256:${'b'.repeat(64)}`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    await closed;
    await new Promise((r) => setImmediate(r));
    const m = new Scrape(await metrics.registry.metrics());
    expect(m.value('registry_http_request_size_bytes', { handler: 'blob_upload_chunk' }, 'sum')).toBe(3000);
    expect(m.value('registry_http_response_size_bytes', { handler: 'blob' }, 'sum')).toBe(65536);
    expect(m.value('registry_http_requests_total', { handler: 'blob', method: 'GET' })).toBe(1);
    expect(m.value('registry_http_in_flight_requests')).toBe(0);
  });

  it('measures a request outside the access log (health) with declared sizes', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const http = new HttpMetrics(metrics);
    server = createServer((req, res) => {
      http.observe(req, res, '/readyz');
      res.setHeader('Content-Length', 2);
      res.end('ok');
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    expect(await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`, 'GET')).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    const m = new Scrape(await metrics.registry.metrics());
    expect(m.value('registry_http_requests_total', { handler: 'health', route: '/readyz', method: 'GET', code: '200' })).toBe(1);
    expect(m.value('registry_http_response_size_bytes', { handler: 'health' }, 'sum')).toBe(2);
  });
});

describe("prom-client's default metrics", () => {
  it('are all exported but nodejs_gc_duration_seconds (a PerformanceObserver run per GC)', async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const names = (r: Registry): string[] => r.getMetricsAsArray().map((m) => m.name).sort();
    const ours = names(new Metrics().registry).filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'));
    expect(ours).toEqual(names(theirs).filter((n) => n !== 'nodejs_gc_duration_seconds'));
  });
});
