/**
 * The debug listener (`http.debug.addr`, as CNCF Distribution's): Prometheus metrics at
 * `http.debug.prometheus.path` when `http.debug.prometheus.enabled`, and `/livez` and `/readyz`. It
 * belongs on a private address; it stays up while the main listener drains, so `/readyz` can be seen
 * answering 503.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { pathOf } from '../routes/context.js';
import { HEALTH_PATHS, type Health } from './health.js';
import type { Metrics } from './metrics.js';

/** What the debug listener serves. */
export interface DebugDeps {
  debug: NonNullable<Config['http']['debug']>;
  health: Health;
  /** undefined when `http.debug.prometheus.enabled` is false */
  metrics: Metrics | undefined;
  logger: Logger;
}

/** The debug listener's server (not yet listening). */
export function createDebugServer(deps: DebugDeps): Server {
  return createServer((req, res) => {
    const path = pathOf(req);
    if (HEALTH_PATHS.has(path)) {
      deps.health.handle(req, res, path);
      return;
    }
    req.resume();
    if (deps.metrics && path === deps.debug.prometheus.path && (req.method === 'GET' || req.method === 'HEAD')) {
      deps.metrics.render().then(
        ({ contentType, body }) => {
          res.setHeader('Content-Type', contentType);
          res.setHeader('Content-Length', Buffer.byteLength(body));
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (err: unknown) => {
          deps.logger.error({ err }, 'cannot render the metrics');
          res.statusCode = 500;
          res.end();
        },
      );
      return;
    }
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(`not found: the debug listener serves /livez, /readyz${deps.metrics ? ` and ${deps.debug.prometheus.path}` : ' (metrics: set http.debug.prometheus.enabled)'}\n`);
  });
}
