/**
 * HTTP metrics of every request, as docker/go-metrics' InstrumentHandler records them for CNCF
 * Distribution: requests by code and method, duration, request and response sizes, requests in
 * flight; labelled with Distribution's handler name (`manifest`, `blob`, `blob_upload`, ...) and the
 * route template (`/v2/{name}/manifests/{reference}`), never with a repository name, so the number of
 * series stays bounded whatever names clients use. Also counts blob bytes served and authentication
 * failures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pathOf } from '../routes/context.js';
import { parseV2Path, type V2Route } from '../routes/v2-path.js';
import type { Metrics } from './metrics.js';
import type { GaugeSeries, HistogramSeries } from './series.js';

/** A request's labels: Distribution's handler name and the route template. */
export interface RouteLabels {
  handler: string;
  route: string;
}

const V2_ROUTES: Record<V2Route['area'] | 'session', RouteLabels> = {
  base: { handler: 'base', route: '/v2/' },
  catalog: { handler: 'catalog', route: '/v2/_catalog' },
  tags: { handler: 'tags', route: '/v2/{name}/tags/list' },
  manifests: { handler: 'manifest', route: '/v2/{name}/manifests/{reference}' },
  blobs: { handler: 'blob', route: '/v2/{name}/blobs/{digest}' },
  uploads: { handler: 'blob_upload', route: '/v2/{name}/blobs/uploads/' },
  session: { handler: 'blob_upload_chunk', route: '/v2/{name}/blobs/uploads/{uuid}' },
  referrers: { handler: 'referrers', route: '/v2/{name}/referrers/{digest}' },
};
const OTHER: Record<string, RouteLabels> = {
  '/livez': { handler: 'health', route: '/livez' },
  '/readyz': { handler: 'health', route: '/readyz' },
  '/auth/token': { handler: 'token', route: '/auth/token' },
};
const ADMIN: RouteLabels = { handler: 'admin', route: '/admin/v1/*' };
const UNKNOWN: RouteLabels = { handler: 'other', route: 'other' };

/** The series of one route's labels that every request of it observes. */
interface RouteSeries {
  inFlight: GaugeSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
}

/** The labels of a request path (without query): a route template from a bounded set. */
export function routeLabels(path: string): RouteLabels {
  if (path.startsWith('/v2')) {
    const route = parseV2Path(path);
    if (!route) return UNKNOWN;
    return V2_ROUTES[route.area === 'uploads' && route.session !== undefined ? 'session' : route.area];
  }
  if (path.startsWith('/admin/')) return ADMIN;
  return OTHER[path] ?? UNKNOWN;
}

/** Bytes: a header's numeric value, or undefined when absent or not a number. */
function headerBytes(value: string | number | string[] | undefined): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return value === undefined || !Number.isFinite(n) ? undefined : n;
}

/**
 * Wraps a request listener so that each request is counted and timed; sizes are the declared
 * Content-Length, or the bytes the connection carried when there is none (a chunked upload, an
 * aborted download).
 */
export function instrumentHttp(metrics: Metrics, listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  // the series of each route, resolved once (the routes are a bounded set of constants)
  const routes = new Map<RouteLabels, RouteSeries>();
  const seriesOf = (labels: RouteLabels): RouteSeries => {
    let known = routes.get(labels);
    if (!known) {
      known = {
        inFlight: metrics.httpInFlight.series(labels.handler, labels.route),
        requestSize: metrics.httpRequestSize.series(labels.handler, labels.route),
        responseSize: metrics.httpResponseSize.series(labels.handler, labels.route),
      };
      routes.set(labels, known);
    }
    return known;
  };
  return (req, res) => {
    const start = performance.now();
    const labels = routeLabels(pathOf(req));
    const series = seriesOf(labels);
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    series.inFlight.inc();
    res.once('close', () => {
      series.inFlight.dec();
      const method = req.method ?? 'GET';
      metrics.httpRequests.series(labels.handler, labels.route, method, String(res.statusCode)).inc();
      metrics.httpDuration.series(labels.handler, labels.route, method).observe((performance.now() - start) / 1000);
      series.requestSize.observe(headerBytes(req.headers['content-length']) ?? Math.max(0, socket.bytesRead - readBefore));
      const declared = method === 'HEAD' ? 0 : res.writableFinished ? headerBytes(res.getHeader('content-length')) : undefined;
      const responseBytes = declared ?? Math.max(0, socket.bytesWritten - writtenBefore);
      series.responseSize.observe(responseBytes);
      if (labels.handler === 'blob' && method === 'GET' && (res.statusCode === 200 || res.statusCode === 206)) metrics.blobBytesServed.inc(responseBytes);
      if (res.statusCode === 401 && req.headers.authorization !== undefined) metrics.authFailures.labels('credentials').inc();
      else if (res.statusCode === 403) metrics.authFailures.labels('denied').inc();
    });
    listener(req, res);
  };
}
