/**
 * Running the registry as a process: the logger, the storage driver and the app from a
 * configuration, an HTTP server on `http.addr`, and a graceful stop.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createApp } from './app.js';
import type { Config } from './config/schema.js';
import { createDriver } from './storage/factory.js';

/** A running registry server. */
export interface RunningServer {
  server: Server;
  logger: Logger;
  /** the address it listens on, `host:port` */
  address: string;
  /** Stops accepting connections and waits for requests under way to finish. */
  stop(): Promise<void>;
}

/** Splits `host:port` (or `:port`, or `[v6]:port`) into host and port. */
export function splitAddr(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(':');
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '0.0.0.0', port: Number(addr.slice(colon + 1)) };
}

/**
 * Starts serving `config`.
 * @throws the listen error (e.g. EADDRINUSE) when the address cannot be bound
 */
export async function startServer(config: Config, logger: Logger = pino({ level: config.log.level })): Promise<RunningServer> {
  const storage = createDriver(config.storage);
  const app = createApp({ config, storage, logger });
  const server = createServer(app);
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  const { host, port } = splitAddr(config.http.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  logger.info({ address, storage: storage.name }, 'wharf is serving');
  return {
    server,
    logger,
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
