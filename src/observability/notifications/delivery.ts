/**
 * Delivery of one endpoint's queue: one process at a time delivers it (lease.ts), strictly in queue
 * order (the stored batches of every process merged with this process's events in memory, see
 * queue.ts), as CNCF Distribution's httpSink sends them (`POST` of the envelope, `Content-Type:
 * application/vnd.docker.distribution.events.v2+json`, the endpoint's headers): one event per envelope
 * while events trickle in, up to {@link MAX_ENVELOPE_EVENTS} of consecutive batches when they come in
 * bursts (the envelope is a list, and Distribution's documentation says it may hold several), signed
 * once per envelope as Standard Webhooks specifies (signing.ts), and retried until the endpoint answers
 * 2xx (307/308 followed, as Go's client under Distribution does; another 3xx is a failure, not the
 * events' delivery): at once up to `threshold` consecutive failures, then after `backoff`, doubling up
 * to 5 minutes. An event leaves the queue only once acknowledged (at least once; a crash between the
 * answer and the queue update sends it again). The delivery tells the queue whether it keeps up (it
 * holds the lease and its last attempt was acknowledged): while it does, pull events stay in memory.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import type { EndpointConfig } from '../../config/production-schema.js';
import type { StorageDriver } from '../../storage/driver.js';
import type { Metrics } from '../metrics.js';
import { envelopeBody, envelopeGroups, envelopeId, MAX_ENVELOPE_EVENTS } from './envelopes.js';
import type { QueuedEvent } from './event-text.js';
import { EVENTS_MEDIA_TYPE } from './events.js';
import { DeliveryLease, LEASE_TTL_MS } from './lease.js';
import { WebhookPoster } from './poster.js';
import type { BatchRef, NotificationQueue } from './queue.js';
import { signatureHeaders } from './signing.js';
import { StatusKeeper } from './status.js';

export type { DeliveryAttempt, DeliveryStatus } from './report.js';

/** The longest back-off between two attempts (ms). */
export const MAX_BACKOFF_MS = 5 * 60_000;
/** How often the holder looks for batches other processes wrote (ms). */
const POLL_MS = 1_000;
/**
 * How long a delivery that sent less than a full envelope waits before it looks again (ms): under a
 * steady stream of events (a pull event per manifest GET) the events of that time go out as one
 * envelope, one signature and one POST instead of one each. A POST costs as much CPU as a few dozen
 * manifest GETs, so at a few hundred GETs a second a shorter wait cost more than the events; the
 * first event after a quiet time still goes out at once (the queue wakes the delivery).
 */
export const LINGER_MS = 1_000;

/** The delay before the next attempt after `failures` consecutive failures (ms). */
export function backoffDelay(failures: number, threshold: number, backoffMs: number): number {
  if (failures < threshold) return 0;
  const doublings = Math.floor(failures / threshold) - 1;
  return Math.min(backoffMs * 2 ** Math.min(doublings, 30), Math.max(backoffMs, MAX_BACKOFF_MS));
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
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private readonly lease: DeliveryLease;
  private readonly status: StatusKeeper;
  private readonly poster: WebhookPoster;
  /** the endpoint's headers as sent, resolved once */
  private readonly headers: [string, string][];
  /** `registry_notifications_status_total` by answer status, resolved once each */
  private readonly statusSeries = new Map<number, { inc(n?: number): void }>();

  constructor(
    private readonly endpoint: EndpointConfig,
    private readonly deps: DeliveryDeps,
  ) {
    this.poster = new WebhookPoster(endpoint.url);
    this.lease = new DeliveryLease(deps.storage, endpoint.name, randomUUID(), deps.logger);
    this.status = new StatusKeeper(deps.storage, endpoint.name, deps.logger);
    this.headers = [['Content-Type', EVENTS_MEDIA_TYPE]];
    for (const [name, values] of Object.entries(endpoint.headers)) for (const v of values) this.headers.push([name, v]);
  }

  /** Starts the delivery loop. */
  start(): void {
    this.running ??= this.run().catch((err: unknown) => this.deps.logger.error({ err, endpoint: this.endpoint.name }, 'notification delivery stopped on an error'));
  }

  /** Looks at the queue now (new events were queued). */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops delivering (an attempt under way is abandoned: its events stay queued) and stores the last status; the lease stays held (see {@link release}). */
  async halt(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake();
    await this.running;
    await this.status.stop();
    this.poster.close();
  }

  /** Releases the lease after {@link halt}, so another process takes over at once. */
  async release(): Promise<void> {
    if (this.lease.held) await this.lease.release();
  }

  /** {@link halt}, then {@link release}. */
  async stop(): Promise<void> {
    await this.halt();
    await this.release();
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

  /** True when this process holds the lease; tells the queue when it does not (its pulls are then stored for the holder). */
  private async holdLease(): Promise<boolean> {
    const held = await this.lease.hold();
    if (!held) this.deps.queue.setLive(this.endpoint.name, false);
    return held;
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
        const batches = await this.deps.queue.pending(this.endpoint.name);
        this.deps.metrics?.notificationPending.series(this.endpoint.name).set(batches.reduce((n, b) => n + b.count, 0));
        if (batches.length === 0) {
          this.deps.queue.setLive(this.endpoint.name, true); // first start, or after the last retry was acknowledged
          await this.sleep(POLL_MS);
        }
        for (const group of envelopeGroups(batches)) {
          if (this.stopped || !this.lease.held) break;
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
    if (group.length === 1) return this.deliverBatch(group[0]!);
    const events = (await Promise.all(group.map((b) => this.deps.queue.read(this.endpoint.name, b)))).flat();
    if (events.length > 0 && !(await this.postUntilAcknowledged(events))) return 0;
    for (const b of group) await this.deps.queue.replace(this.endpoint.name, b, []);
    return events.length;
  }

  /** Delivers one batch, in envelopes of up to {@link MAX_ENVELOPE_EVENTS} events; @returns the events acknowledged */
  private async deliverBatch(batch: BatchRef): Promise<number> {
    const events = await this.deps.queue.read(this.endpoint.name, batch);
    let checkpointed = 0;
    for (let i = 0; i < events.length; i += MAX_ENVELOPE_EVENTS) {
      // keep what was acknowledged out of the queue while waiting: a restart then resends none of it
      const checkpoint = async (): Promise<void> => {
        if (i <= checkpointed) return;
        await this.deps.queue.replace(this.endpoint.name, batch, events.slice(i));
        checkpointed = i;
      };
      if (!(await this.postUntilAcknowledged(events.slice(i, i + MAX_ENVELOPE_EVENTS), checkpoint))) return i;
    }
    await this.deps.queue.replace(this.endpoint.name, batch, []);
    return events.length;
  }

  /**
   * Posts `envelope` until the endpoint acknowledges it: at once up to `threshold` failures, then after
   * the back-off, `waiting` running before each back-off. At the first failure, the queue is told
   * that the delivery does not keep up (its events in memory are stored); after an acknowledgement,
   * that it does again.
   * @returns false when the delivery stopped or lost its lease first
   */
  private async postUntilAcknowledged(envelope: readonly QueuedEvent[], waiting?: () => Promise<void>): Promise<boolean> {
    let failures = 0;
    while (!(await this.holdLease()) || !(await this.post(envelope))) {
      failures += 1;
      if (this.stopped || !this.lease.held) return false;
      this.deps.queue.setLive(this.endpoint.name, false);
      const delay = backoffDelay(failures, this.endpoint.threshold, this.endpoint.backoff);
      if (delay > 0) await waiting?.();
      await this.sleep(delay === 0 ? 10 : delay);
      if (this.stopped || !this.lease.held) return false;
    }
    this.deps.queue.setLive(this.endpoint.name, true);
    this.deps.metrics?.notificationPending.series(this.endpoint.name).dec(envelope.length);
    return true;
  }

  /** One attempt with `events` (as queued); true when the endpoint acknowledged it (2xx, after 307/308 redirects). The webhook id stays the same on retries. */
  private async post(events: readonly QueuedEvent[]): Promise<boolean> {
    const body = envelopeBody(events); // made once, for the signature and the socket
    const id = envelopeId(events);
    const headers = this.deps.key ? [...this.headers, ...Object.entries(signatureHeaders(this.deps.key, id, Math.floor(Date.now() / 1000), body))] : this.headers;
    const at = new Date().toISOString();
    const name = this.endpoint.name;
    // one signal for the stop and the timeout (AbortSignal.any and .timeout cost more than the rest of a POST's set-up)
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort(new DOMException(`no answer within ${this.endpoint.timeout} ms`, 'TimeoutError'));
    }, this.endpoint.timeout);
    const stop = (): void => attempt.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', stop, { once: true });
    try {
      const status = await this.poster.post(headers, body, attempt.signal);
      const ok = status >= 200 && status < 300; // a 307/308 was followed; any other 3xx did not deliver the events
      this.statusCounter(status).inc();
      this.deps.metrics?.notificationEvents.series(ok ? 'Successes' : 'Failures', name).inc(events.length);
      await this.status.report({ at, status }, ok, events.length);
      if (!ok) this.deps.logger.warn({ endpoint: name, status, webhookId: id }, 'notification endpoint refused the events; retrying');
      return ok;
    } catch (err) {
      if (this.stopped) return false;
      this.deps.metrics?.notificationEvents.series('Errors', name).inc(events.length);
      const message = timedOut ? `no answer within ${this.endpoint.timeout} ms` : (err as Error).message;
      await this.status.report({ at, status: null, error: message }, false, events.length);
      this.deps.logger.warn({ endpoint: name, error: message, webhookId: id }, 'cannot reach the notification endpoint; retrying');
      return false;
    } finally {
      clearTimeout(timer);
      this.abort.signal.removeEventListener('abort', stop);
    }
  }

  /** The `registry_notifications_status_total` series of an answer's status (a no-op without metrics). */
  private statusCounter(status: number): { inc(n?: number): void } {
    let known = this.statusSeries.get(status);
    if (!known) {
      known = this.deps.metrics?.notificationStatus.labels(`${status} ${STATUS_CODES[status] ?? ''}`.trim(), this.endpoint.name) ?? { inc: () => undefined };
      this.statusSeries.set(status, known);
    }
    return known;
  }
}
