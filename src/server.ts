/**
 * Running the registry as a process: the logger, the storage driver and the app from a
 * configuration, an HTTP server on `http.addr`, and a graceful stop.
 */
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createApp } from './app.js';
import { ConfigError } from './config/load.js';
import { configWarnings } from './config/warnings.js';
import { scheduleGc } from './gc/schedule.js';
import { adminIndexOf } from './registry/admin-index/admin-index.js';
import type { Config } from './config/schema.js';
import { RegistryError } from './oci/errors.js';
import { StorageConfigError, type StorageDriver } from './storage/driver.js';
import { createDriver } from './storage/factory.js';
import * as layout from './storage/layout.js';

/** A running registry server. */
export interface RunningServer {
  server: Server;
  logger: Logger;
  /** the address it listens on, `host:port` */
  address: string;
  /** Stops accepting connections and waits for requests (and a scheduled GC run) under way to finish. */
  stop(): Promise<void>;
}

/** Splits `host:port` (or `:port`, or `[v6]:port`) into host and port. */
function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '0.0.0.0', port: Number(addr.slice(colon + 1)) };
}

/** Node's own client-error codes and the status each is answered with. */
const CLIENT_ERROR_STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'request headers too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request timed out'],
  HPE_URI_OVERFLOW: [414, 'URI too long'],
};

/**
 * The HTTP server for an app: no limit on a whole request's duration (a large push may take long),
 * but a connection idle for `http.idletimeout` is closed, so a stalled client cannot hold a
 * connection or an upload session forever; and the errors Node's HTTP parser answers by itself
 * (malformed requests, oversized headers, header timeouts) get the spec's JSON too.
 */
export function createHttpServer(app: RequestListener, http: Config['http']): Server {
  const server = createServer(app);
  // an Expect other than 100-continue: Node would answer 417 itself, without the spec's JSON; the app answers it
  server.on('checkExpectation', app);
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.timeout = http.idletimeout;
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
  const path = layout.startupProbe(randomUUID());
  try {
    await storage.check?.();
  } catch (err) {
    if (err instanceof StorageConfigError) throw new ConfigError(err.message);
    throw err;
  }
  try {
    await storage.putContent(path, 'probe');
    await storage.delete(path);
  } catch (err) {
    const where = config.storage.filesystem ? `storage.filesystem.rootdirectory = ${JSON.stringify(config.storage.filesystem.rootdirectory)}` : `storage.${storage.name}`;
    const fix = config.storage.s3 ? 'check that the credentials may write to the bucket' : 'point it at a writable directory';
    throw new ConfigError(`${where}: the storage cannot be written (${(err as Error).message}); ${fix}`);
  }
}

/**
 * Starts serving `config`.
 * @throws ConfigError when the storage cannot be written or the address cannot be bound (it names the key)
 */
export async function startServer(config: Config, logger: Logger = pino({ level: config.log.level })): Promise<RunningServer> {
  for (const w of configWarnings(config)) logger.warn({ key: w.key }, `config key "${w.key}" ${w.message}`);
  const storage = await createDriver(config.storage);
  await probeStorage(storage, config);
  const app = createApp({ config, storage, logger });
  const server = createHttpServer(app, config.http);
  const { host, port } = splitAddr(config.http.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ConfigError(`http.addr = ${JSON.stringify(config.http.addr)}: cannot listen (${err.code ?? err.message}${err.code === 'EADDRINUSE' ? ': the port is in use; choose another' : ''})`)),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  logger.info({ address, storage: storage.name }, 'wharf is serving');
  const gcSchedule = scheduleGc(storage, config.gc, logger);
  // the admin index is built (or loaded from its snapshot) now, not at the first admin request
  const adminIndex = adminIndexOf(storage);
  adminIndex.start().catch((err: unknown) => logger.error({ err }, 'cannot build the admin index; the admin API retries at its next request'));
  return {
    server,
    logger,
    address,
    stop: async () => {
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
        gcSchedule?.stop(),
      ]);
      await adminIndex.stop();
    },
  };
}
