/**
 * Running the registry as a process: the logger, the storage driver and the app from a
 * configuration, an HTTP or HTTPS listener on `http.addr` (`http.tls`), the debug listener
 * (`http.debug.addr`: metrics and health), and a graceful stop (`http.draintimeout`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createApp } from './app.js';
import { ConfigError } from './config/load.js';
import { configWarnings } from './config/warnings.js';
import { scheduleGc } from './gc/schedule.js';
import { stopRunningGc } from './gc/running.js';
import { adminIndexOf } from './registry/admin-index/admin-index-of.js';
import type { Config } from './config/schema.js';
import { Drain } from './listener/drain.js';
import { locationResponseClass } from './listener/location.js';
import { tlsServerOptions, watchCredentials, type TlsConfig } from './listener/tls.js';
import { createDebugServer } from './observability/debug-server.js';
import { Health, probeWritable } from './observability/health.js';
import { Metrics } from './observability/metrics.js';
import { Notifier } from './observability/notifications/notifier.js';
import { RegistryError } from './oci/errors.js';
import { type StorageDriver } from './storage/driver.js';
import { StorageConfigError } from './storage/driver-errors.js';
import { createDriver } from './storage/factory.js';
import { buildUpstreams, checkUpstreams } from './proxy/upstream.js';
import { closeIdleConnection } from './routes/idle-timeout.js';

/** A running registry server. */
export interface RunningServer {
  server: Server;
  logger: Logger;
  /** the address it listens on, `host:port` */
  address: string;
  /** the debug listener's address (`http.debug.addr`), when configured */
  debugAddress: string | undefined;
  health: Health;
  /** the metrics, when `http.debug.prometheus.enabled` */
  metrics: Metrics | undefined;
  /** the notifications, when `notifications.endpoints` has any */
  notifier: Notifier | undefined;
  /**
   * Drains and stops: `/readyz` answers 503, no new connection is accepted, requests in flight (and
   * the requests their connections send right after) finish within `http.draintimeout`, then the
   * rest is cut; a scheduled GC run under way finishes.
   * @returns true when every request finished in time
   */
  stop(): Promise<boolean>;
}

/** Splits `host:port` (or `:port`, or `[v6]:port`) into host and port. */
function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '0.0.0.0', port: Number(addr.slice(colon + 1)) };
}

/**
 * The largest request head (request line and headers) in bytes, 431 beyond: Node's default of 16 KiB
 * is too small for the `Range` header of a zstd:chunked partial pull, up to 1024 ranges
 * (containers/storage) of two offsets each, about 20 KiB for a layer of a few hundred MB.
 */
export const MAX_HEADER_BYTES = 64 * 1024;

/** Node's own client-error codes and the status each is answered with. */
const CLIENT_ERROR_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request timed out'],
  HPE_URI_OVERFLOW: [414, 'URI too long'],
};

/**
 * The HTTP server for an app (HTTPS with `http.tls.certificate`; absolute Location URLs with
 * `http.host` or `http.relativeurls: false`): no limit on a whole request's duration (a large push may take long),
 * but a connection idle for `http.idletimeout` is closed, so a stalled client cannot hold a
 * connection or an upload session forever (a body that only trickles is cut by the app, see
 * src/routes/body-rate.ts); headers must be in within `http.headertimeout` (408); and the errors Node's
 * HTTP parser answers by itself (malformed requests, oversized headers, header timeouts) get the spec's JSON too.
 */
export function createHttpServer(app: RequestListener, http: Config['http'], logger: Logger = pino({ level: 'silent' })): Server {
  const ServerResponse = locationResponseClass(http);
  const options = {
    ...(ServerResponse ? { ServerResponse } : {}),
    // Node checks the header timeout every connectionsCheckingInterval (30 s by default): check often enough for a short one
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(http.headertimeout / 2))),
    maxHeaderSize: MAX_HEADER_BYTES,
  };
  const tls = tlsOf(http);
  let server: Server;
  if (tls) {
    const https = createHttpsServer({ ...options, ...tlsServerOptions(tls) }, app);
    watchCredentials(https, tls, logger);
    server = https;
  } else {
    server = createServer(options, app);
  }
  // an Expect other than 100-continue: Node would answer 417 itself, without the spec's JSON; the app answers it
  server.on('checkExpectation', app);
  server.requestTimeout = 0;
  server.headersTimeout = http.headertimeout;
  server.keepAliveTimeout = 65_000;
  server.timeout = http.idletimeout;
  server.on('timeout', closeIdleConnection);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [status, message] = CLIENT_ERROR_STATUS[err.code ?? ''] ?? [400, 'malformed HTTP request'];
    const body = JSON.stringify(new RegistryError(status === 408 ? 'UNKNOWN' : 'UNSUPPORTED', { status, message }).toJSON());
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nDocker-Distribution-API-Version: registry/2.0\r\n\r\n${body}`,
    );
  });
  return server;
}

/**
 * Checks that the storage accepts a write and a delete, so a bad root directory (a file, a
 * read-only or missing mount) fails at start-up instead of at the first push.
 * @throws ConfigError naming the storage key and the cause
 */
async function probeStorage(storage: StorageDriver, config: Config): Promise<void> {
  try {
    await storage.check?.();
  } catch (err) {
    if (err instanceof StorageConfigError) throw new ConfigError(err.message);
    throw err;
  }
  try {
    await probeWritable(storage, randomUUID());
  } catch (err) {
    const where = config.storage.filesystem ? `storage.filesystem.rootdirectory = ${JSON.stringify(config.storage.filesystem.rootdirectory)}` : `storage.${storage.name}`;
    const fix = config.storage.s3 ? 'check that the credentials may write to the bucket' : 'point it at a writable directory';
    throw new ConfigError(`${where}: the storage cannot be written (${(err as Error).message}); ${fix}`);
  }
}

/** Logs the one start-up warning of a registry without an `auth` section: who can do what. */
function warnOpenRegistry(config: Config, logger: Logger): void {
  const who = `anyone who reaches ${config.http.addr} can`;
  const what = config.admin.allowremote
    ? `${who} push, pull, delete and call the admin API (admin.allowremote: true)`
    : `${who} push and pull (the admin API and deletes answer only this machine; admin.allowremote: true opens them)`;
  logger.warn({ key: 'auth' }, `no auth section: the registry is open: ${what}; configure auth for real use`);
}

/** The `http.tls` section when it names a certificate (then the listener serves HTTPS). */
function tlsOf(http: Config['http']): TlsConfig | undefined {
  return http.tls?.certificate !== undefined ? (http.tls as TlsConfig) : undefined;
}

/**
 * Listens on `addr`.
 * @returns the bound address, `host:port`
 * @throws Error naming `addr`, `key` and its environment variable when the address cannot be bound
 *   (not a ConfigError: the value is valid, the port is taken or not ours)
 */
async function listen(server: Server, addr: string, key: string): Promise<string> {
  const { host, port } = splitAddr(addr);
  const env = `WHARF_${key.toUpperCase().replaceAll('.', '_')}`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `cannot listen on ${addr}: the port is in use (another wharf serve?); stop it, or set ${key} or ${env} to a free host:port`
            : `cannot listen on ${addr} (${key}, ${env}): ${err.code ?? err.message}`,
        ),
      ),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
}

/**
 * Starts serving `config`.
 * @throws ConfigError when the storage cannot be written, the TLS files cannot be used or an address cannot be bound (it names the key)
 */
export async function startServer(config: Config, logger: Logger = pino({ level: config.log.level })): Promise<RunningServer> {
  for (const w of configWarnings(config)) logger.warn({ key: w.key }, `config key "${w.key}" ${w.message}`);
  if (!config.auth) warnOpenRegistry(config, logger);
  const storage = await createDriver(config.storage);
  await probeStorage(storage, config);
  const metrics = config.http.debug?.prometheus.enabled ? new Metrics() : undefined;
  const health = new Health(storage, config.health, { logger, tokenAuth: config.auth?.token !== undefined });
  const notifier = config.notifications.endpoints.length > 0 ? new Notifier({ config, storage, logger, metrics, listenAddress: config.http.addr }) : undefined;
  const upstreams = config.proxy ? buildUpstreams(config.proxy) : undefined;
  if (upstreams) await checkUpstreams(upstreams, logger);
  const app = createApp({ config, storage, logger, health, metrics, notifier, upstreams });
  const tls = tlsOf(config.http);
  const server = createHttpServer(app, config.http, logger);
  const drain = new Drain(server, tls !== undefined);
  // the admin index is built (or loaded from its snapshot) now, not at the first admin request; the
  // snapshot's rows are read before listening, so the first admin page does not wait for them
  const adminIndex = adminIndexOf(storage);
  adminIndex.start().catch((err: unknown) => logger.error({ err }, 'cannot build the admin index; the admin API retries at its next request'));
  const rowsFrom = performance.now();
  await adminIndex.rowsLoaded();
  const adminRowsMs = Math.round(performance.now() - rowsFrom);
  let address: string;
  try {
    address = await listen(server, config.http.addr, 'http.addr');
  } catch (err) {
    void adminIndex.stop().catch(() => undefined); // its start under way ends on its own
    throw err;
  }
  const debug = config.http.debug ? createDebugServer({ debug: config.http.debug, health, metrics, logger }) : undefined;
  let debugAddress: string | undefined;
  if (debug && config.http.debug) {
    try {
      debugAddress = await listen(debug, config.http.debug.addr, 'http.debug.addr');
    } catch (err) {
      server.close();
      throw err;
    }
  }
  health.start();
  notifier?.start();
  logger.info({ address, tls: tls !== undefined, debugAddress, storage: storage.name, adminRowsMs }, 'wharf is serving');
  const gcSchedule = scheduleGc(storage, config.gc, logger, metrics?.recordGcRun);
  return {
    server,
    logger,
    address,
    debugAddress,
    health,
    metrics,
    notifier,
    stop: async () => {
      health.beginShutdown();
      logger.info({ drainTimeoutMs: config.http.draintimeout }, 'draining: no new connections; requests in flight may finish');
      const [inTime] = await Promise.all([drain.drain(config.http.draintimeout), stopRunningGc(storage, 'the server is stopping'), gcSchedule?.stop()]);
      if (!inTime) logger.warn({ drainTimeoutMs: config.http.draintimeout }, 'http.draintimeout passed: the requests still in flight were cut');
      health.stop();
      await adminIndex.stop(); // its journal written: the other processes on this storage see the last changes
      await notifier?.stop();
      await Promise.all((upstreams ?? []).map((u) => u.close()));
      if (debug) {
        const closed = new Promise<void>((resolve) => debug.close(() => resolve()));
        debug.closeAllConnections();
        await closed;
      }
      return inTime;
    },
  };
}
