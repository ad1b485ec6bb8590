/**
 * The application factory: the request listener of one configuration and one storage driver, with
 * no globals, so tests build an app per case (supertest) and `wharf serve` builds one per process.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Logger } from 'pino';
import { Auth } from './auth/auth.js';
import { adminGuard } from './auth/middleware.js';
import { TokenServer } from './auth/token-server.js';
import type { Config } from './config/schema.js';
import type { LeaseOptions } from './gc/lease.js';
import { Health, HEALTH_PATHS } from './observability/health.js';
import { HttpMetrics } from './observability/http-metrics.js';
import { MeteredDriver } from './observability/metered-driver.js';
import type { Metrics } from './observability/metrics.js';
import type { Notifier } from './observability/notifications/notifier.js';
import type { GcGuardOptions } from './registry/gc-guard.js';
import { RegistryError } from './oci/errors.js';
import { Registry } from './registry/registry.js';
import { accessLog } from './routes/access-log.js';
import { bodyRateGuard } from './routes/body-rate.js';
import { requireLocalWithoutAuth } from './routes/local-only.js';
import { adminRouter } from './routes/admin.js';
import { ADMIN_PREFIX } from './routes/admin-path.js';
import { adminGcRouter } from './routes/admin-gc.js';
import { adminCacheRouter } from './routes/admin-cache.js';
import { adminNotificationsRouter } from './routes/admin-notifications.js';
import { PullThroughCache } from './proxy/cache.js';
import { buildUpstreams, type Upstream } from './proxy/upstream.js';
import { adminRetentionRouter } from './routes/admin-retention.js';
import { errorMiddleware, notFound, sendError } from './routes/errors.js';
import { tokenRouter } from './routes/token.js';
import { pathOf, toOriginForm } from './routes/context.js';
import { isV2Request, v2Handler } from './routes/v2.js';
import type { StorageDriver } from './storage/driver.js';
import { uiRouter } from './ui/serve.js';

/** What {@link createApp} needs. */
export interface AppDeps {
  config: Config;
  storage: StorageDriver;
  logger: Logger;
  /** the clock (tests pin it); defaults to the system clock */
  now?: () => Date;
  /** authentication; default: built from `config.auth` (none when the section is absent) */
  auth?: Auth;
  /** garbage collection timing: the lease of runs started through the admin API, the pushes' guard (tests shorten them) */
  gc?: { lease?: LeaseOptions; guard?: GcGuardOptions };
  /** the built web page (src/ui/serve.ts); default: `dist/ui/` beside the built server */
  uiDir?: string;
  /** the pull-through cache's upstreams (`wharf serve` checks them first); default: built from `config.proxy` */
  upstreams?: Upstream[];
  /** pull-through cache tuning for tests: bytes of each blob fill kept in memory */
  proxy?: { fillWindowBytes?: number };
  /** `/livez` and `/readyz`; default: one over `storage` and `config.health` that is never started (no periodic probe) */
  health?: Health;
  /** the metrics to record (every request, every storage action); none when undefined */
  metrics?: Metrics;
  /** where events go (`notifications`); none when undefined */
  notifier?: Notifier;
}

/**
 * True when the request's `Expect` names something other than 100-continue, which Wharf cannot meet
 * (RFC 9110 section 10.1.1: 417). Node hands such requests to the server's `checkExpectation` listener,
 * which is the app too (see createHttpServer).
 */
function unmetExpectation(req: IncomingMessage): boolean {
  const expect = req.headers.expect;
  return expect !== undefined && expect.trim().toLowerCase() !== '100-continue';
}

/** The registry's request listener, for `http.createServer` or supertest. */
export type App = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the registry (Distribution Spec v1.1 under `/v2/`, served without a framework; the admin API
 * under `/admin/v1` and, with `auth`, the token endpoint `/auth/token` and the guard of `/admin`, served
 * by express; the web page under `/ui/`, `/` redirecting there), and `/livez` and `/readyz` (unauthenticated, outside the access log). Every other request
 * gets the access log, `Docker-Distribution-API-Version: registry/2.0` and the `http.headers`.
 * @throws ConfigError when the `auth` section's files (htpasswd, keys) cannot be used
 */
export function createApp(deps: AppDeps): App {
  const storage = deps.metrics ? new MeteredDriver(deps.storage, deps.metrics) : deps.storage;
  const registry = new Registry(storage, {
    now: deps.now,
    gcGuard: deps.gc?.guard,
    gcGraceMs: deps.config.gc.grace,
    logger: deps.logger,
    // a pull-through cache stores its upstream's manifests byte for byte: no push checked their descriptors' sizes
    adminIndex: { pollMs: deps.config.admin.index.poll, rebuildMs: deps.config.admin.index.rebuild, describedSizes: deps.config.proxy === undefined },
  });
  const now = deps.now ?? (() => new Date());
  const auth = deps.auth ?? (deps.config.auth ? new Auth(deps.config, deps.config.auth, { logger: deps.logger, now }) : undefined);
  const upstreams = deps.config.proxy ? (deps.upstreams ?? buildUpstreams(deps.config.proxy)) : undefined;
  const proxy = upstreams
    ? new PullThroughCache(registry, upstreams, deps.config.proxy!, { now: () => now().getTime(), logger: deps.logger, fillWindowBytes: deps.proxy?.fillWindowBytes })
    : undefined;
  if (proxy && deps.metrics) {
    deps.metrics.initProxyUpstreams(proxy.upstreams.map((u) => u.name));
    proxy.stats.onEvent(deps.metrics.recordProxyEvent);
  }
  const health = deps.health ?? new Health(deps.storage, deps.config.health, { logger: deps.logger, tokenAuth: auth?.token !== undefined });
  const headers = Object.entries(deps.config.http.headers ?? {});
  const v2 = v2Handler({ config: deps.config, registry, logger: deps.logger, auth, proxy, events: deps.notifier });
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  if (auth?.token) app.use('/auth/token', tokenRouter(new TokenServer(auth, deps.logger)));
  app.use('/admin', adminGuard(auth, (req) => requireLocalWithoutAuth(req, deps.config, 'the admin API')));
  app.use(ADMIN_PREFIX, adminRouter({ config: deps.config, registry, logger: deps.logger }));
  app.use(ADMIN_PREFIX, adminGcRouter({ config: deps.config, storage, logger: deps.logger, lease: deps.gc?.lease, onRun: deps.metrics?.recordGcRun }));
  app.use(ADMIN_PREFIX, adminNotificationsRouter(deps.notifier));
  app.use(ADMIN_PREFIX, adminCacheRouter(proxy));
  app.use(ADMIN_PREFIX, adminRetentionRouter(deps.config));
  app.use(uiRouter({ dir: deps.uiDir, auth }));
  app.use(notFound);
  app.use(errorMiddleware);
  const httpMetrics = deps.metrics ? new HttpMetrics(deps.metrics) : undefined;
  const log = accessLog(deps.logger, httpMetrics);
  const guardBodyRate = bodyRateGuard(deps.config.http, deps.logger);
  const listener: App = (req, res) => {
    toOriginForm(req);
    const path = pathOf(req);
    if (HEALTH_PATHS.has(path)) {
      httpMetrics?.observe(req, res, path);
      health.handle(req, res, path);
      return;
    }
    log(req, res);
    guardBodyRate(req);
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    for (const [name, values] of headers) res.setHeader(name, values);
    if (unmetExpectation(req)) {
      req.resume();
      sendError(req, res, new RegistryError('UNSUPPORTED', { status: 417, message: `Expect: ${String(req.headers.expect).slice(0, 100)} is not supported; only 100-continue is` }));
    } else if (isV2Request(req)) v2(req, res);
    else app(req, res);
  };
  return listener;
}
