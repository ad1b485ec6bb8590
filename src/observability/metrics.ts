/**
 * The registry's Prometheus metrics (prom-client), one registry per app so tests can build several.
 * Names follow CNCF Distribution where it has the metric (`registry_http_*` from docker/go-metrics'
 * InstrumentHandler, `registry_storage_action_seconds{driver,action}` from its storage driver base,
 * `registry_notifications_*` from notifications/metrics.go), so its dashboards and alerts keep working;
 * Wharf's own start with `wharf_`. Labels are bounded sets (route templates, never repository names).
 *
 * Adding a metric is one line in {@link Metrics}: `readonly name = this.counter('wharf_x_total', 'help', ['label'])`.
 */
import { createRequire } from 'node:module';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily } from './series.js';

/** docker/go-metrics' default duration buckets (seconds). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60];
/** docker/go-metrics' default size buckets: 1 KiB to 4 GiB, doubling. */
const SIZE_BUCKETS = Array.from({ length: 22 }, (_, i) => 1024 * 2 ** i);

/**
 * prom-client's default collectors (its lib/defaultMetrics.js) but `gc`: `nodejs_gc_duration_seconds`
 * observes every garbage collection through a PerformanceObserver, and Node then makes a performance
 * entry (with deprecated-property wrappers) and runs the observer per GC: about 2 µs per manifest GET
 * at the bench's rates (a scavenge every 100 GETs or so under `--max-semi-space-size=2`; perf
 * samples, docs/performance.md), a third of the metrics' own cost. The heap's sizes
 * (`nodejs_heap_*`) are still exported. The list is checked against prom-client's by a test.
 */
export const DEFAULT_COLLECTORS = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
] as const;

/** A prom-client default collector: registers its metrics on `registry`. */
type Collector = (registry: Registry, config: Parameters<typeof collectDefaultMetrics>[0]) => void;

const require = createRequire(import.meta.url);

/** The `result` label values of `wharf_proxy_requests_total`. */
const PROXY_RESULTS = ['hit', 'miss', 'revalidated', 'stale', 'collapsed'] as const;

/** Every metric Wharf exports, registered on {@link Metrics.registry}. */
export class Metrics {
  /** the registry `/metrics` renders */
  readonly registry = new Registry();

  // Distribution's names (registry_http_*: docker/go-metrics NewDefaultHttpMetrics; handler = Distribution's route name).
  // Observed on every request and storage action: families whose series are resolved once (series.ts).
  readonly httpRequests = new CounterFamily('registry_http_requests_total', 'Total number of HTTP requests made.', ['handler', 'route', 'method', 'code'], this.registry);
  readonly httpDuration = new HistogramFamily('registry_http_request_duration_seconds', 'The HTTP request latencies in seconds.', ['handler', 'route', 'method'], DURATION_BUCKETS, this.registry);
  readonly httpRequestSize = new HistogramFamily('registry_http_request_size_bytes', 'The HTTP request sizes in bytes.', ['handler', 'route'], SIZE_BUCKETS, this.registry);
  readonly httpResponseSize = new HistogramFamily('registry_http_response_size_bytes', 'The HTTP response sizes in bytes.', ['handler', 'route'], SIZE_BUCKETS, this.registry);
  readonly httpInFlight = new GaugeFamily('registry_http_in_flight_requests', 'The in-flight HTTP requests', ['handler', 'route'], this.registry);
  readonly storageAction = new HistogramFamily('registry_storage_action_seconds', 'The number of seconds that the storage action takes', ['driver', 'action'], DURATION_BUCKETS, this.registry);
  readonly notificationEvents = new CounterFamily('registry_notifications_events_total', 'The number of total events', ['type', 'endpoint'], this.registry);
  readonly notificationPending = new GaugeFamily('registry_notifications_pending_total', 'The gauge of pending events in queue', ['endpoint'], this.registry);
  readonly notificationStatus = this.counter('registry_notifications_status_total', 'The number of status code', ['code', 'endpoint']);

  // Wharf's own
  readonly uploadBytes = this.counter('wharf_upload_bytes_total', 'Bytes received into upload sessions (blob pushes).', []);
  readonly blobBytesServed = this.counter('wharf_blob_bytes_served_total', 'Bytes of blobs sent to clients (GET /v2/<name>/blobs/<digest>).', []);
  readonly gcRuns = this.counter('wharf_gc_runs_total', 'Garbage collection runs of this process, by result (succeeded, failed).', ['result']);
  readonly gcBytesFreed = this.counter('wharf_gc_bytes_freed_total', 'Bytes of blobs and upload sessions garbage collection deleted.', []);
  readonly authFailures = this.counter('wharf_auth_failures_total', 'Requests refused by authentication: reason credentials (401 with credentials) or denied (403).', ['reason']);
  // the pull-through cache (docs/proxy.md); `upstream` is a configured upstream's name, a bounded set
  readonly proxyRequests = this.counter(
    'wharf_proxy_requests_total',
    'Manifest and blob reads answered by the pull-through cache, by upstream and result: hit (from the cache), miss (fetched from the upstream), revalidated (a tag past tagttl confirmed by a HEAD), stale (the upstream failed, the cached copy served), collapsed (joined a blob fetch under way).',
    ['upstream', 'result'],
  );
  readonly proxyUpstreamErrors = this.counter('wharf_proxy_upstream_errors_total', 'Requests to an upstream of the pull-through cache that failed (unreachable, 5xx, 429, refused credentials, timeout; a 404 is not one).', ['upstream']);
  readonly proxyFillFailures = this.counter('wharf_proxy_fill_failures_total', 'Blob fetches from an upstream that were not stored (cut body, wrong bytes, timeout).', ['upstream']);
  readonly proxyUpstreamBytes = this.counter('wharf_proxy_upstream_bytes_total', 'Blob bytes received from an upstream of the pull-through cache.', ['upstream']);

  /** @param options.defaultMetrics also export Node.js's process metrics (process_*, nodejs_*; see {@link DEFAULT_COLLECTORS}); default true */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    // the event-loop lag histogram samples with a timer: prom-client's default 10 ms wakes an idle
    // server 100 times a second (seen in strace during a push); 50 ms still catches any lag that matters
    if (options.defaultMetrics ?? true) {
      for (const name of DEFAULT_COLLECTORS) {
        if (name === 'processResources' && typeof process.getActiveResourcesInfo !== 'function') continue; // as prom-client
        (require(`prom-client/lib/metrics/${name}`) as Collector)(this.registry, { eventLoopMonitoringPrecision: 50 });
      }
    }
  }

  /** Counts a finished garbage collection run from its record (a dry run frees nothing). */
  readonly recordGcRun = (record: { state: string; dryRun: boolean; report: { bytesFreed: number; uploadBytesFreed: number } | null }): void => {
    this.gcRuns.labels(record.state).inc();
    if (record.report && !record.dryRun) this.gcBytesFreed.inc(record.report.bytesFreed + record.report.uploadBytesFreed);
  };

  /** Starts the pull-through cache's series of `upstreams` at 0, so that rates exist before the first event. */
  initProxyUpstreams(upstreams: readonly string[]): void {
    for (const upstream of upstreams) {
      for (const result of PROXY_RESULTS) this.proxyRequests.labels(upstream, result).inc(0);
      this.proxyUpstreamErrors.labels(upstream).inc(0);
      this.proxyFillFailures.labels(upstream).inc(0);
      this.proxyUpstreamBytes.labels(upstream).inc(0);
    }
  }

  /**
   * Counts one event of the pull-through cache (the listener of `ProxyStats.onEvent`, src/proxy/stats.ts):
   * `amount` is 1, or bytes for `bytesFetched`.
   */
  readonly recordProxyEvent = (upstream: string, event: string, amount: number): void => {
    if ((PROXY_RESULTS as readonly string[]).includes(event)) this.proxyRequests.labels(upstream, event).inc(amount);
    else if (event === 'upstreamError') this.proxyUpstreamErrors.labels(upstream).inc(amount);
    else if (event === 'fillFailed') this.proxyFillFailures.labels(upstream).inc(amount);
    else if (event === 'bytesFetched') this.proxyUpstreamBytes.labels(upstream).inc(amount);
  };

  /** The Prometheus text exposition of every metric, and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
