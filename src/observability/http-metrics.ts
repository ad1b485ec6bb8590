/**
 * HTTP metrics of every request, as docker/go-metrics' InstrumentHandler records them for CNCF
 * Distribution: requests by code and method, duration, request and response sizes, requests in
 * flight; labelled with Distribution's handler name (`manifest`, `blob`, `blob_upload`, ...) and the
 * route template (`/v2/{name}/manifests/{reference}`), never with a repository name, so the number of
 * series stays bounded whatever names clients use. Also counts blob bytes served and authentication
 * failures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
export interface RouteSeries {
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

/** Bytes: a header's numeric value, or 0 when absent or not a number. */
function headerBytes(value: string | number | string[] | undefined): number {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return value === undefined || !Number.isFinite(n) ? 0 : n;
}

/**
 * The HTTP metrics of requests, recorded at two points the access log already has (routes/access-log.ts:
 * its start and its one `close` listener), so a request costs no listener or closure of its own: the
 * series are resolved once per route, method and status (a bounded set) and an observation is a few
 * additions. Sizes are body bytes, as the access log counts them (what the parser handed over, what
 * was written: a cut download counts what went out).
 */
export class HttpMetrics {
  /** the series of each route, resolved once (the routes are a bounded set of constants) */
  private readonly routes = new Map<RouteLabels, RouteSeries>();

  constructor(private readonly metrics: Metrics) {}

  /** Counts a request of `path` (without query) in flight; @returns its route's series, for {@link end} */
  begin(path: string): RouteSeries {
    const labels = routeLabels(path);
    let route = this.routes.get(labels);
    if (!route) {
      const m = this.metrics;
      route = {
        labels,
        inFlight: m.httpInFlight.series(labels.handler, labels.route),
        requestSize: m.httpRequestSize.series(labels.handler, labels.route),
        responseSize: m.httpResponseSize.series(labels.handler, labels.route),
        methods: new Map(),
      };
      this.routes.set(labels, route);
    }
    route.inFlight.inc();
    return route;
  }

  /**
   * Records the end of a request {@link begin} counted: its count by method and status, its duration,
   * its body sizes, blob bytes served and authentication failures.
   * @param seconds from the request's start to its response's close
   * @param credentials whether the request carried an `Authorization` header (a 401 then counts as failed credentials)
   */
  end(route: RouteSeries, method: string, code: number, seconds: number, requestBytes: number, responseBytes: number, credentials: boolean): void {
    route.inFlight.dec();
    let byMethod = route.methods.get(method);
    if (!byMethod) {
      byMethod = { duration: this.metrics.httpDuration.series(route.labels.handler, route.labels.route, method), codes: new Map() };
      route.methods.set(method, byMethod);
    }
    let requests = byMethod.codes.get(code);
    if (!requests) {
      requests = this.metrics.httpRequests.series(route.labels.handler, route.labels.route, method, String(code));
      byMethod.codes.set(code, requests);
    }
    requests.inc();
    byMethod.duration.observe(seconds);
    route.requestSize.observe(requestBytes);
    route.responseSize.observe(responseBytes);
    if (route.labels.handler === 'blob' && method === 'GET' && (code === 200 || code === 206)) this.metrics.blobBytesServed.inc(responseBytes);
    if (code === 401 && credentials) this.metrics.authFailures.labels('credentials').inc();
    else if (code === 403) this.metrics.authFailures.labels('denied').inc();
  }

  /**
   * Measures a request outside the access log (`/livez`, `/readyz`) with a `close` listener of its
   * own; sizes are the declared Content-Lengths.
   */
  observe(req: IncomingMessage, res: ServerResponse, path: string): void {
    const start = performance.now();
    const route = this.begin(path);
    res.once('close', () => {
      const method = req.method ?? 'GET';
      const responseBytes = method === 'HEAD' ? 0 : headerBytes(res.getHeader('content-length'));
      this.end(route, method, res.statusCode, (performance.now() - start) / 1000, headerBytes(req.headers['content-length']), responseBytes, req.headers.authorization !== undefined);
    });
  }
}
