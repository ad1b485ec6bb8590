/**
 * Notifications (`notifications.endpoints`, CNCF Distribution's configuration): the routes record
 * events here; each is queued for every enabled endpoint whose `ignore` rules let it through (see
 * queue.ts for what is stored when): a push's, mount's or delete's is stored before the request is
 * answered; a pull's is kept in memory while the endpoint's delivery keeps up, and stored when it
 * falls behind (receiver down, retries, a backlog) and at a stop. So a graceful stop or a receiver
 * outage loses no event; a crash (kill -9) while the receiver is up may lose the pull events not yet
 * delivered. A delivery per endpoint sends the queue in order (see delivery.ts). The admin API lists
 * the endpoints with their queue and last delivery.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../../config/load.js';
import type { EndpointConfig } from '../../config/production-schema.js';
import type { Config } from '../../config/schema.js';
import type { StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import type { Metrics } from '../metrics.js';
import type { CounterSeries, GaugeSeries } from '../series.js';
import { EndpointDelivery } from './delivery.js';
import { EventFactory, eventMediaType, ignoredBy, type EventAction, type EventRecorder, type EventTarget } from './events.js';
import { readLease } from './lease.js';
import { NotificationQueue } from './queue.js';
import type { EndpointReport } from './report.js';
import { signingKey } from './signing.js';
import { readStatus } from './status.js';

export type { EndpointReport } from './report.js';

/** What {@link Notifier} needs. */
export interface NotifierDeps {
  config: Config;
  storage: StorageDriver;
  logger: Logger;
  metrics?: Metrics;
  /** `host:port` this process listens on (the events' `source.addr` port) */
  listenAddress: string;
}


/** The Standard Webhooks key of an endpoint (`secret` or `secretfile`), or undefined when neither is set. */
function keyOf(endpoint: EndpointConfig, index: number): Buffer | undefined {
  let secret = endpoint.secret;
  if (endpoint.secretfile !== undefined) {
    try {
      secret = readFileSync(endpoint.secretfile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`notifications.endpoints.${index}.secretfile = ${JSON.stringify(endpoint.secretfile)}: cannot read it (${(err as Error).message})`);
    }
  }
  if (secret === undefined) return undefined;
  const key = signingKey(secret);
  if (key.length < 16 || !/^(whsec_)?[A-Za-z0-9+/]+={0,2}$/.test(secret)) {
    throw new ConfigError(`notifications.endpoints.${index}.secret${endpoint.secretfile ? 'file' : ''}: expected base64 of at least 16 bytes, optionally after "whsec_" (Standard Webhooks), e.g. whsec_$(openssl rand -base64 32)`);
  }
  return key;
}

/** An endpoint's `registry_notifications_events_total{type="Events"}` and pending series. */
interface EndpointSeries {
  events: CounterSeries;
  pending: GaugeSeries;
}

/** The endpoints an event goes to, and their series. */
interface Wanting {
  names: string[];
  series: EndpointSeries[];
}

/** The media types whose endpoints are kept per action (all dropped when full: media types come from clients). */
const WANTED_KEPT = 256;

/** The recorder of events and the deliveries of every enabled endpoint. */
export class Notifier implements EventRecorder {
  private readonly queue: NotificationQueue;
  private readonly factory: EventFactory;
  private readonly enabled: EndpointConfig[];
  private readonly deliveries = new Map<string, EndpointDelivery>();
  private readonly keys = new Map<string, Buffer | undefined>();
  /** the `registry_notifications_events_total{type="Events"}` and pending series of each enabled endpoint, resolved once */
  private readonly series = new Map<string, EndpointSeries>();
  /** what {@link wanting} found, by action, then media type */
  private readonly wanted = new Map<EventAction, Map<string | undefined, Wanting>>();
  /** the last answer of {@link wanting} and what it was for: a stream of pulls asks the same again and again */
  private lastWanted: { action: EventAction; mediaType: string | undefined; wanting: Wanting } | undefined;

  /** @throws ConfigError for an unreadable `secretfile` or a secret that is not base64 of 16 bytes or more */
  constructor(private readonly deps: NotifierDeps) {
    this.queue = new NotificationQueue(deps.storage);
    this.factory = new EventFactory(deps.config, deps.listenAddress);
    const endpoints = deps.config.notifications.endpoints;
    this.enabled = endpoints.filter((e) => !e.disabled);
    endpoints.forEach((e, i) => this.keys.set(e.name, keyOf(e, i)));
    for (const e of this.enabled) {
      if (!this.keys.get(e.name)) deps.logger.warn({ endpoint: e.name }, `notifications.endpoints "${e.name}" has no secret: its deliveries are not signed; set secret (or secretfile) so the receiver can verify them`);
      this.deliveries.set(e.name, new EndpointDelivery(e, { storage: deps.storage, queue: this.queue, logger: deps.logger, metrics: deps.metrics, key: this.keys.get(e.name) }));
    }
    const metrics = deps.metrics;
    if (metrics) for (const e of this.enabled) this.series.set(e.name, { events: metrics.notificationEvents.series('Events', e.name), pending: metrics.notificationPending.series(e.name) });
    this.queue.onWritten = (names) => {
      for (const name of names) this.deliveries.get(name)?.wake();
    };
    this.queue.onQueued = (name) => this.deliveries.get(name)?.wake();
    this.queue.onWriteFailed = (err, events) => deps.logger.error({ err, events }, 'cannot queue notification events: the pull events among them are lost');
  }

  /** Starts delivering. */
  start(): void {
    for (const d of this.deliveries.values()) d.start();
  }

  /** Stops delivering, stores every event still in memory, then releases the leases (another process delivers in order after that). */
  async stop(): Promise<void> {
    const deliveries = [...this.deliveries.values()];
    await Promise.all(deliveries.map((d) => d.halt()));
    await this.queue.flushed();
    await Promise.all(deliveries.map((d) => d.release()));
  }

  /**
   * Queues the event for every endpoint that wants it. For a push, mount or delete, @returns a
   * promise that resolves once it is stored, and rejects with the storage's error, which fails the
   * request (the client retries it, and the retry records the event). For a pull, @returns undefined,
   * as CNCF Distribution's answers at once: it is kept in memory or stored later (see queue.ts), and
   * a failure to store it is logged (see the constructor) without failing the pull.
   */
  record(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): Promise<void> | undefined {
    const wanting = this.wanting(action, eventMediaType(action, target));
    if (wanting.names.length === 0) return undefined;
    for (const series of wanting.series) {
      series.events.inc();
      series.pending.inc();
    }
    const durable = action !== 'pull';
    const event = this.factory.pending(req, res, action, target);
    // a pull is kept as its parts, written into envelopes as they are or made into text when stored (see PendingEvent); the others' text now, as they are stored at once
    const stored = this.queue.enqueue(durable ? event.text() : event, wanting.names, durable);
    return durable ? stored : undefined;
  }

  /**
   * The enabled endpoints whose `ignore` rules let an event of `action` and `mediaType` through, and
   * their series: kept by both, the last one compared first (a manifest's media type is a new string
   * per GET, whose hash a Map lookup computes again: 0.5 µs a GET in perf samples).
   */
  private wanting(action: EventAction, mediaType: string | undefined): Wanting {
    const last = this.lastWanted;
    if (last !== undefined && last.action === action && last.mediaType === mediaType) return last.wanting;
    const wanting = this.lookUpWanting(action, mediaType);
    this.lastWanted = { action, mediaType, wanting };
    return wanting;
  }

  private lookUpWanting(action: EventAction, mediaType: string | undefined): Wanting {
    let byType = this.wanted.get(action);
    if (!byType) this.wanted.set(action, (byType = new Map()));
    let known = byType.get(mediaType);
    if (!known) {
      const names = this.enabled.filter((e) => !ignoredBy(e, { action, target: { mediaType } })).map((e) => e.name);
      known = { names, series: names.flatMap((name) => this.series.get(name) ?? []) };
      if (byType.size >= WANTED_KEPT) byType.clear();
      byType.set(mediaType, known);
    }
    return known;
  }

  /** Every configured endpoint with its queue and last delivery, as stored (so any process sharing the storage answers the same). */
  async report(): Promise<EndpointReport[]> {
    return Promise.all(
      this.deps.config.notifications.endpoints.map(async (e) => {
        const [batches, status, lease] = await Promise.all([this.queue.pending(e.name, false), readStatus(this.deps.storage, e.name), readLease(this.deps.storage, layout.notificationLease(e.name))]);
        return {
          name: e.name,
          url: shownUrl(e.url),
          disabled: e.disabled,
          signed: this.keys.get(e.name) !== undefined,
          pending: batches.reduce((n, b) => n + b.count, 0),
          delivering: lease !== undefined && lease.expiresAt > Date.now(),
          ...status,
        };
      }),
    );
  }
}

/**
 * How an endpoint's URL is shown (admin API, web page): its origin only, with `/…` for any path,
 * since user info, query, and the path too (Slack's and Discord's webhook URLs carry their secret
 * in it) may hold a credential.
 */
export function shownUrl(endpoint: string): string {
  const url = new URL(endpoint);
  return `${url.origin}${url.pathname === '/' ? '/' : '/…'}`;
}
