/**
 * Delivery of one endpoint's queue: one process at a time delivers it (a lease in the storage,
 * `/_notifications/<endpoint>/lease`, taken over when its holder stops renewing), strictly in queue
 * order, as CNCF Distribution's httpSink sends them (`POST` of the envelope, `Content-Type:
 * application/vnd.docker.distribution.events.v2+json`, the endpoint's headers): one event per envelope
 * while events trickle in, up to {@link MAX_ENVELOPE_EVENTS} of consecutive batches when they come in
 * bursts (the envelope is a list, and Distribution's documentation says it may hold several), signed
 * as Standard Webhooks specifies (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
 * HMAC-SHA256 of "id.timestamp.body">`), and retried until the endpoint answers 2xx (307/308 followed,
 * as Go's client under Distribution does; another 3xx is a failure, not the events' delivery): at once up
 * to `threshold` consecutive failures, then after `backoff`, doubling up to 5 minutes. An event leaves
 * the queue only once acknowledged (at least once; a crash between the answer and the queue update
 * sends it again).
 */
import { createHmac, randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import type { EndpointConfig } from '../../config/production-schema.js';
import { isNotFound, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import type { Metrics } from '../metrics.js';
import { EVENTS_MEDIA_TYPE } from './events.js';
import { WebhookPoster } from './poster.js';
import { envelopeBody, envelopeGroups, envelopeId, MAX_ENVELOPE_EVENTS } from './envelopes.js';
import type { BatchRef, NotificationQueue } from './queue.js';
import type { DeliveryAttempt, DeliveryStatus } from './report.js';

export type { DeliveryAttempt, DeliveryStatus } from './report.js';

/** The longest back-off between two attempts (ms). */
export const MAX_BACKOFF_MS = 5 * 60_000;
/** How long a delivery lease lives without renewal (ms). */
const LEASE_TTL_MS = 15_000;
/** How long a taker waits before reading back the lease it wrote (ms). */
const LEASE_SETTLE_MS = 200;
/** How often the holder looks for batches other processes wrote (ms). */
const POLL_MS = 1_000;
/**
 * How long a delivery that sent less than a full envelope waits before it looks again (ms): under a
 * steady stream of events (a pull event per manifest GET) the group commits of that time go out as
 * one envelope, one POST and one listing instead of one each, which was most of the cost of
 * notifications on the manifest GET figure of the bench.
 */
const LINGER_MS = 250;

/** The status of an endpoint that never delivered. */
function emptyStatus(): DeliveryStatus {
  return { lastAttempt: null, lastSuccess: null, consecutiveFailures: 0, lastFailure: null, delivered: 0 };
}

/** The delay before the next attempt after `failures` consecutive failures (ms). */
export function backoffDelay(failures: number, threshold: number, backoffMs: number): number {
  if (failures < threshold) return 0;
  const doublings = Math.floor(failures / threshold) - 1;
  return Math.min(backoffMs * 2 ** Math.min(doublings, 30), Math.max(backoffMs, MAX_BACKOFF_MS));
}

/** The Standard Webhooks signing key of a secret: the base64 after an optional `whsec_` prefix. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

/** The Standard Webhooks headers of a delivery: the HMAC of `<id>.<timestamp>.<body>`, the body hashed as it is (not copied into one string). */
export function signatureHeaders(key: Buffer, id: string, timestampSeconds: number, body: string | Buffer): Record<string, string> {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}

/** What a delivery needs. */
export interface DeliveryDeps {
  storage: StorageDriver;
  queue: NotificationQueue;
  logger: Logger;
  metrics: Metrics | undefined;
  /** the signing key; undefined: deliveries are not signed */
  key: Buffer | undefined;
}

/** Delivers one endpoint's queue while it holds the endpoint's lease. */
export class EndpointDelivery {
  private readonly owner = randomUUID();
  private stopped = false;
  private held = false;
  /** ms since the epoch: when the lease this process wrote last expires */
  private leaseUntil = 0;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  /** read from storage at the first attempt (another process or an earlier run may have stored it) */
  private status: DeliveryStatus | undefined;
  private statusWritten = 0;
  /** the write of a status kept but not yet stored (at most a second later) */
  private statusFlush: NodeJS.Timeout | undefined;
  private readonly poster: WebhookPoster;

  constructor(
    private readonly endpoint: EndpointConfig,
    private readonly deps: DeliveryDeps,
  ) {
    this.poster = new WebhookPoster(endpoint.url);
  }

  /** Starts the delivery loop. */
  start(): void {
    this.running ??= this.run().catch((err: unknown) => this.deps.logger.error({ err, endpoint: this.endpoint.name }, 'notification delivery stopped on an error'));
  }

  /** Looks at the queue now (new events were written). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops delivering (an attempt under way is abandoned: its event stays queued) and releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake();
    await this.running;
    if (this.statusFlush) await this.writeStatus();
    this.poster.close();
    if (this.held) await this.release();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    let lastDelivered = 0;
    while (!this.stopped) {
      try {
        if (lastDelivered > 0 && lastDelivered < MAX_ENVELOPE_EVENTS) await new Promise((r) => setTimeout(r, LINGER_MS));
        lastDelivered = 0;
        if (!(await this.holdLease())) {
          await this.sleep(LEASE_TTL_MS / 3);
          continue;
        }
        const batches = await this.deps.queue.batches(this.endpoint.name);
        this.deps.metrics?.notificationPending.series(this.endpoint.name).set(batches.reduce((n, b) => n + b.count, 0));
        if (batches.length === 0) await this.sleep(POLL_MS);
        for (const group of envelopeGroups(batches)) {
          if (this.stopped || !this.held) break;
          lastDelivered += await this.deliverGroup(group);
        }
      } catch (err) {
        this.deps.logger.error({ err, endpoint: this.endpoint.name }, 'cannot read the notification queue');
        await this.sleep(POLL_MS);
      }
    }
  }

  /** Delivers a group of batches (see {@link envelopeGroups}); @returns the events acknowledged */
  private async deliverGroup(group: readonly BatchRef[]): Promise<number> {
    if (group.length === 1) return this.deliverBatch(group[0]!.name);
    const events = (await Promise.all(group.map((b) => this.deps.queue.read(this.endpoint.name, b.name)))).flat();
    if (events.length > 0 && !(await this.postUntilAcknowledged(events))) return 0;
    for (const b of group) await this.deps.queue.replace(this.endpoint.name, b.name, []);
    return events.length;
  }

  /** Delivers one batch, in envelopes of up to {@link MAX_ENVELOPE_EVENTS} events; @returns the events acknowledged */
  private async deliverBatch(batch: string): Promise<number> {
    const events = await this.deps.queue.read(this.endpoint.name, batch);
    let name = batch;
    let checkpointed = 0;
    for (let i = 0; i < events.length; i += MAX_ENVELOPE_EVENTS) {
      // keep what was acknowledged out of the queue while waiting: a restart then resends none of it
      const checkpoint = async (): Promise<void> => {
        if (i <= checkpointed) return;
        name = (await this.deps.queue.replace(this.endpoint.name, name, events.slice(i))) ?? name;
        checkpointed = i;
      };
      if (!(await this.postUntilAcknowledged(events.slice(i, i + MAX_ENVELOPE_EVENTS), checkpoint))) return i;
    }
    await this.deps.queue.replace(this.endpoint.name, name, []);
    return events.length;
  }

  /**
   * Posts `envelope` until the endpoint acknowledges it: at once up to `threshold` failures, then after
   * the back-off, `waiting` running before each back-off.
   * @returns false when the delivery stopped or lost its lease first
   */
  private async postUntilAcknowledged(envelope: readonly string[], waiting?: () => Promise<void>): Promise<boolean> {
    let failures = 0;
    while (!(await this.holdLease()) || !(await this.post(envelope))) {
      failures += 1;
      if (this.stopped || !this.held) return false;
      const delay = backoffDelay(failures, this.endpoint.threshold, this.endpoint.backoff);
      if (delay > 0) await waiting?.();
      await this.sleep(delay === 0 ? 10 : delay);
      if (this.stopped || !this.held) return false;
    }
    this.deps.metrics?.notificationPending.series(this.endpoint.name).dec(envelope.length);
    return true;
  }

  /** One attempt with `events` (JSON text each); true when the endpoint acknowledged it (2xx, after 307/308 redirects). The webhook id stays the same on retries. */
  private async post(events: readonly string[]): Promise<boolean> {
    const body = Buffer.from(envelopeBody(events)); // encoded once, for the signature and the socket
    const id = envelopeId(events);
    const headers: [string, string][] = [['Content-Type', EVENTS_MEDIA_TYPE]];
    for (const [name, values] of Object.entries(this.endpoint.headers)) for (const v of values) headers.push([name, v]);
    if (this.deps.key) headers.push(...Object.entries(signatureHeaders(this.deps.key, id, Math.floor(Date.now() / 1000), body)));
    const at = new Date().toISOString();
    const name = this.endpoint.name;
    const timeout = AbortSignal.timeout(this.endpoint.timeout);
    try {
      const status = await this.poster.post(headers, body, AbortSignal.any([this.abort.signal, timeout]));
      const ok = status >= 200 && status < 300; // a 307/308 was followed; any other 3xx did not deliver the events
      this.deps.metrics?.notificationStatus.labels(`${status} ${STATUS_CODES[status] ?? ''}`.trim(), name).inc();
      this.deps.metrics?.notificationEvents.series(ok ? 'Successes' : 'Failures', name).inc(events.length);
      await this.report({ at, status }, ok, events.length);
      if (!ok) this.deps.logger.warn({ endpoint: name, status, webhookId: id }, 'notification endpoint refused the events; retrying');
      return ok;
    } catch (err) {
      if (this.stopped) return false;
      this.deps.metrics?.notificationEvents.series('Errors', name).inc(events.length);
      const message = timeout.aborted ? `no answer within ${this.endpoint.timeout} ms` : (err as Error).message;
      await this.report({ at, status: null, error: message }, false, events.length);
      this.deps.logger.warn({ endpoint: name, error: message, webhookId: id }, 'cannot reach the notification endpoint; retrying');
      return false;
    }
  }

  /**
   * Keeps the status after an attempt to deliver `events` events; stores it at once on a change
   * between success and failure, else at most once a second (the last one always, a second later at most).
   */
  private async report(attempt: DeliveryAttempt, ok: boolean, events: number): Promise<void> {
    const before = (this.status ??= await readStatus(this.deps.storage, this.endpoint.name).catch(emptyStatus));
    const changed = ok !== (before.consecutiveFailures === 0);
    this.status = {
      lastAttempt: attempt,
      lastSuccess: ok ? attempt.at : before.lastSuccess,
      consecutiveFailures: ok ? 0 : before.consecutiveFailures + 1,
      lastFailure: ok ? before.lastFailure : attempt,
      delivered: before.delivered + (ok ? events : 0),
    };
    const wait = 1000 - (Date.now() - this.statusWritten);
    if (changed || wait <= 0) await this.writeStatus();
    else this.statusFlush ??= setTimeout(() => void this.writeStatus(), wait).unref();
  }

  private async writeStatus(): Promise<void> {
    clearTimeout(this.statusFlush);
    this.statusFlush = undefined;
    this.statusWritten = Date.now();
    await this.deps.storage.putContent(layout.notificationStatus(this.endpoint.name), JSON.stringify(this.status)).catch((err: unknown) => this.deps.logger.warn({ err }, 'cannot store the notification status'));
  }

  /** True when this process holds the endpoint's lease (taking it when free, renewing it when due). */
  private async holdLease(): Promise<boolean> {
    if (this.held && this.leaseUntil - Date.now() > (LEASE_TTL_MS * 2) / 3) return true;
    const path = layout.notificationLease(this.endpoint.name);
    const current = await readLease(this.deps.storage, path);
    if (current && current.owner !== this.owner && current.expiresAt > Date.now()) {
      this.held = false;
      return false;
    }
    const until = Date.now() + LEASE_TTL_MS;
    await this.deps.storage.putContent(path, JSON.stringify({ owner: this.owner, expiresAt: until }));
    if (current?.owner !== this.owner) await new Promise((r) => setTimeout(r, LEASE_SETTLE_MS));
    this.held = (await readLease(this.deps.storage, path))?.owner === this.owner;
    if (this.held) this.leaseUntil = until;
    if (this.held && current?.owner !== this.owner) this.deps.logger.info({ endpoint: this.endpoint.name }, 'delivering notifications');
    return this.held;
  }

  private async release(): Promise<void> {
    const path = layout.notificationLease(this.endpoint.name);
    if ((await readLease(this.deps.storage, path).catch(() => undefined))?.owner === this.owner) await this.deps.storage.delete(path).catch(() => undefined);
    this.held = false;
  }
}

/** The lease record of an endpoint, or undefined when there is none (or it is unreadable). */
export async function readLease(storage: StorageDriver, path: string): Promise<{ owner: string; expiresAt: number } | undefined> {
  try {
    const lease = JSON.parse((await storage.getContent(path)).toString('utf8')) as { owner?: unknown; expiresAt?: unknown };
    return typeof lease.owner === 'string' && typeof lease.expiresAt === 'number' ? { owner: lease.owner, expiresAt: lease.expiresAt } : undefined;
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** The stored delivery status of an endpoint (all empty when it never delivered). */
export async function readStatus(storage: StorageDriver, endpoint: string): Promise<DeliveryStatus> {
  try {
    return { ...emptyStatus(), ...(JSON.parse((await storage.getContent(layout.notificationStatus(endpoint))).toString('utf8')) as Partial<DeliveryStatus>) };
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return emptyStatus();
    throw err;
  }
}
