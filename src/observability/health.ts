/**
 * Health endpoints for load balancers and orchestrators, unauthenticated (as zot's `/livez` and
 * `/readyz`): `GET /livez` answers 200 while the process serves; `GET /readyz` answers 200 when the
 * storage accepts a write (probed every `health.storagedriver.interval`, unavailable after `threshold`
 * consecutive failures, as CNCF Distribution's storage health check counts them), no `health.file`
 * exists and the server is not shutting down; else 503. Bodies are JSON without paths or error
 * details (the port is public); the causes are logged.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { HealthConfig } from '../config/production-schema.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/** The paths {@link Health.handle} answers. */
export const HEALTH_PATHS: ReadonlySet<string> = new Set(['/livez', '/readyz']);

/**
 * Writes and deletes a throw-away object: resolves when the storage accepts writes.
 * @throws the driver's error
 */
export async function probeWritable(storage: StorageDriver, id: string = randomUUID()): Promise<void> {
  const path = layout.startupProbe(id);
  await storage.putContent(path, 'probe');
  await storage.delete(path);
}

/** What {@link Health} needs. */
export interface HealthOptions {
  logger: Logger;
  /** true when token authentication is configured (its signing key is then loaded with the app) */
  tokenAuth?: boolean;
}

/** The liveness and readiness state of one server process. */
export class Health {
  private failures = 0;
  private shuttingDown = false;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly probeId = `ready-${randomUUID()}`;

  constructor(
    private readonly storage: StorageDriver,
    private readonly config: HealthConfig,
    private readonly options: HealthOptions,
  ) {}

  /** Starts probing the storage every `health.storagedriver.interval` (nothing when disabled). */
  start(): void {
    const { enabled, interval } = this.config.storagedriver;
    if (!enabled || this.timer) return;
    this.timer = setInterval(() => void this.probe(), interval);
    this.timer.unref();
  }

  /** Stops the probes. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** From now on `/readyz` answers 503: the server is draining. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** Probes the storage once; a probe that takes longer than the interval counts as failed. */
  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const { interval, threshold } = this.config.storagedriver;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probeWritable(this.storage, this.probeId),
        new Promise((_, reject) => (timeout = setTimeout(() => reject(new Error(`no answer within ${interval} ms`)), interval))),
      ]);
      if (this.failures >= threshold) this.options.logger.info('storage probe succeeds again: ready');
      this.failures = 0;
    } catch (err) {
      this.failures += 1;
      const level = this.failures === threshold ? 'error' : 'warn';
      this.options.logger[level]({ err, failures: this.failures, threshold }, this.failures >= threshold ? 'storage probe failed: not ready' : 'storage probe failed');
    } finally {
      clearTimeout(timeout);
      this.probing = false;
    }
  }

  /** The readiness checks: each `ok` or a short reason. */
  checks(): Record<string, string> {
    const { enabled, threshold } = this.config.storagedriver;
    const checks: Record<string, string> = {};
    if (enabled) checks.storage = this.failures >= threshold ? `${this.failures} consecutive write probes failed` : 'ok';
    if (this.options.tokenAuth) checks.token = 'ok';
    this.config.file.forEach((f, i) => {
      checks[`file.${i}`] = existsSync(f.file) ? `health.file[${i}] exists` : 'ok';
    });
    checks.shutdown = this.shuttingDown ? 'the server is shutting down' : 'ok';
    return checks;
  }

  /** True when every readiness check passes. */
  ready(): boolean {
    return Object.values(this.checks()).every((c) => c === 'ok');
  }

  /** Answers `GET`/`HEAD /livez` and `/readyz` (405 for other methods). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    req.resume();
    let status: number;
    let body: unknown;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      [status, body] = [405, { status: 'method not allowed' }];
    } else if (path === '/livez') {
      [status, body] = [200, { status: 'ok' }];
    } else {
      const checks = this.checks();
      const ready = Object.values(checks).every((c) => c === 'ok');
      [status, body] = [ready ? 200 : 503, { status: ready ? 'ok' : 'unavailable', checks }];
    }
    const text = JSON.stringify(body);
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.setHeader('Cache-Control', 'no-store');
    res.end(req.method === 'HEAD' ? undefined : text);
  }
}
