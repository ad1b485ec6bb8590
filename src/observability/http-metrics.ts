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
import type { V2Route } from '../routes/v2-path.js';
import type { Metrics } from './metrics.js';
import type { CounterSeries, GaugeSeries, HistogramSeries } from './series.js';

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

/** The series of one method of a route: its duration, and its request count by status code. */
interface MethodSeries {
  duration: HistogramSeries;
  codes: Map<number, CounterSeries>;
}

/** The series of one route's labels that every request of it observes, resolved once. */
interface RouteSeries {
  labels: RouteLabels;
  inFlight: GaugeSeries;
  requestSize: HistogramSeries;
  responseSize: HistogramSeries;
  methods: Map<string, MethodSeries>;
}

/**
 * The area of a `/v2/` path, found as parseV2Path finds it (the keyword nearest the end, after a
 * name of one character or more) from the last two segments, without its regular expression (1 to
 * 3 µs a request, most of the cost of the metrics): the label needs the area only.
 */
function v2Area(path: string): keyof typeof V2_ROUTES | undefined {
  if (path === '/v2/' || path === '/v2') return 'base';
  if (path === '/v2/_catalog') return 'catalog';
  if (!path.startsWith('/v2/')) return undefined;
  const last = path.lastIndexOf('/');
  const before = path.lastIndexOf('/', last - 1);
  // the name between "/v2/" and the keyword's segment has one character or more
  if (before <= 4) return undefined;
  const keyword = path.slice(before + 1, last);
  const tail = last + 1;
  if (keyword === 'uploads') {
    const blobs = path.lastIndexOf('/', before - 1);
    return blobs > 4 && path.startsWith('blobs/', blobs + 1) && blobs + 6 === before ? (tail === path.length ? 'uploads' : 'session') : undefined;
  }
  if (tail === path.length) return undefined;
  if (keyword === 'manifests' || keyword === 'referrers') return keyword;
  if (keyword === 'blobs') return path.endsWith('/uploads') ? 'uploads' : 'blobs';
  if (keyword === 'tags' && path.endsWith('/list')) return 'tags';
  return undefined;
}

/** The labels of a request path (without query): a route template from a bounded set. */
export function routeLabels(path: string): RouteLabels {
  if (path.startsWith('/v2')) {
    const area = v2Area(path);
    return area === undefined ? UNKNOWN : V2_ROUTES[area];
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
        labels,
        inFlight: metrics.httpInFlight.series(labels.handler, labels.route),
        requestSize: metrics.httpRequestSize.series(labels.handler, labels.route),
        responseSize: metrics.httpResponseSize.series(labels.handler, labels.route),
        methods: new Map(),
      };
      routes.set(labels, known);
    }
    return known;
  };
  const methodOf = (route: RouteSeries, method: string): MethodSeries => {
    let known = route.methods.get(method);
    if (!known) {
      known = { duration: metrics.httpDuration.series(route.labels.handler, route.labels.route, method), codes: new Map() };
      route.methods.set(method, known);
    }
    return known;
  };
  const requestsOf = (route: RouteSeries, method: string, series: MethodSeries, code: number): CounterSeries => {
    let known = series.codes.get(code);
    if (!known) {
      known = metrics.httpRequests.series(route.labels.handler, route.labels.route, method, String(code));
      series.codes.set(code, known);
    }
    return known;
  };
  return (req, res) => {
    const start = performance.now();
    const series = seriesOf(routeLabels(pathOf(req)));
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    series.inFlight.inc();
    res.on('close', () => {
      series.inFlight.dec();
      const method = req.method ?? 'GET';
      const code = res.statusCode;
      const bySeries = methodOf(series, method);
      requestsOf(series, method, bySeries, code).inc();
      bySeries.duration.observe((performance.now() - start) / 1000);
      const contentLength = req.headers['content-length'];
      series.requestSize.observe((contentLength === undefined ? undefined : headerBytes(contentLength)) ?? Math.max(0, socket.bytesRead - readBefore));
      const declared = method === 'HEAD' ? 0 : res.writableFinished ? headerBytes(res.getHeader('content-length')) : undefined;
      const responseBytes = declared ?? Math.max(0, socket.bytesWritten - writtenBefore);
      series.responseSize.observe(responseBytes);
      if (series.labels.handler === 'blob' && method === 'GET' && (code === 200 || code === 206)) metrics.blobBytesServed.inc(responseBytes);
      if (code === 401 && req.headers.authorization !== undefined) metrics.authFailures.labels('credentials').inc();
      else if (code === 403) metrics.authFailures.labels('denied').inc();
    });
    listener(req, res);
  };
}
