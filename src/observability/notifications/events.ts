/**
 * Registry events in CNCF Distribution's envelope (notifications/event.go and bridge.go, media type
 * `application/vnd.docker.distribution.events.v2+json`), so receivers written for Distribution read
 * them unchanged: `{"events":[{id, timestamp, action, target: {mediaType, size, digest, length,
 * repository, fromRepository, url, tag, references}, request: {id, addr, host, method, useragent},
 * actor: {name}, source: {addr, instanceID}}]}`. As in Distribution, a blob's media type is
 * `application/octet-stream`, a delete's target holds only the repository and the digest (or the tag
 * for a tag delete), and URLs follow `http.host` / `http.relativeurls`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { grantOf } from '../../auth/middleware.js';
import type { Config } from '../../config/schema.js';
import { urlBase } from '../../listener/location.js';

/** The media type of the envelope. */
export const EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v2+json';

/** Event actions (Distribution's EventAction constants). */
export type EventAction = 'push' | 'pull' | 'delete' | 'mount';

/** A descriptor as Distribution puts it in `references`. */
export interface EventDescriptor {
  mediaType?: string;
  size?: number;
  digest: string;
}

/** One event, field for field as Distribution's `notifications.Event` marshals it. */
export interface RegistryEvent {
  id: string;
  /** RFC 3339 with milliseconds */
  timestamp: string;
  action: EventAction;
  target: {
    mediaType?: string;
    size?: number;
    digest?: string;
    length?: number;
    repository?: string;
    fromRepository?: string;
    url?: string;
    tag?: string;
    references?: EventDescriptor[];
  };
  request: { id: string; addr?: string; host?: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr?: string; instanceID?: string };
}

/** What a route knows of the object an event is about. */
export interface EventTarget {
  kind: 'manifest' | 'blob';
  repository: string;
  digest?: string;
  mediaType?: string;
  /** bytes */
  size?: number;
  tag?: string;
  fromRepository?: string;
  /** the manifest's bytes, for `references` (notifications.events.includereferences) */
  body?: Buffer;
}

/** Where a route hands its events: persisted (durably, for every endpoint that wants it) before it resolves. */
export interface EventRecorder {
  /**
   * Records an event of `req`.
   * @throws the storage's error when the event could not be persisted
   */
  record(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): Promise<void>;
}

/** Distribution's blob media type in events: the registry does not know a blob's own. */
const BLOB_MEDIA_TYPE = 'application/octet-stream';

/** The descriptors a manifest references (config and layers; an index's manifests), as Distribution's `References()`. */
export function manifestReferences(body: Buffer): EventDescriptor[] {
  try {
    const m = JSON.parse(body.toString('utf8')) as { config?: EventDescriptor; layers?: EventDescriptor[]; manifests?: EventDescriptor[] };
    const all = [...(m.config ? [m.config] : []), ...(m.layers ?? []), ...(m.manifests ?? [])];
    return all.filter((d) => typeof d?.digest === 'string').map((d) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest }));
  } catch {
    return [];
  }
}

/** Builds events of requests (the `request`, `actor` and `source` records, the target's URL). */
export class EventFactory {
  /** this process's source record: `hostname:port` and an id that changes with every start */
  private readonly source: RegistryEvent['source'];

  constructor(
    private readonly config: Config,
    listenAddress: string,
    readonly instanceId: string = randomUUID(),
  ) {
    this.source = { addr: `${hostname()}:${listenAddress.slice(listenAddress.lastIndexOf(':') + 1)}`, instanceID: instanceId };
  }

  /** the second of the last timestamp made (ms since the epoch, floored) and its text up to the seconds' dot */
  private second = { ms: -1, prefix: '' };

  /**
   * Now in RFC 3339 with milliseconds, as Date's toISOString writes it: the text up to the seconds is
   * made once a second (toISOString costs 1 to 4 µs, and every manifest GET makes an event).
   */
  private timestamp(): string {
    const ms = Date.now();
    const second = ms - (ms % 1000);
    if (second !== this.second.ms) this.second = { ms: second, prefix: new Date(second).toISOString().slice(0, 20) };
    return `${this.second.prefix}${String(ms - second).padStart(3, '0')}Z`;
  }

  /** The event of `action` on `target`, by `req`. */
  create(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): RegistryEvent {
    const isDelete = action === 'delete';
    const path = target.digest ? `/v2/${target.repository}/${target.kind === 'manifest' ? 'manifests' : 'blobs'}/${target.digest}` : undefined;
    const mediaType = target.kind === 'blob' ? BLOB_MEDIA_TYPE : target.mediaType;
    const includeReferences = this.config.notifications.events.includereferences && target.kind === 'manifest' && target.body !== undefined && !isDelete;
    const socket = req.socket;
    return {
      id: randomUUID(),
      timestamp: this.timestamp(),
      action,
      target: isDelete
        ? { digest: target.digest, repository: target.repository, tag: target.tag }
        : {
            mediaType,
            size: target.size,
            digest: target.digest,
            length: target.size,
            repository: target.repository,
            fromRepository: target.fromRepository,
            url: path === undefined ? undefined : urlBase(this.config.http, req) + path,
            tag: target.tag,
            references: includeReferences ? manifestReferences(target.body!) : undefined,
          },
      request: {
        id: req.id,
        addr: socket.remoteAddress === undefined ? undefined : `${socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]` : socket.remoteAddress}:${socket.remotePort}`,
        host: req.headers.host,
        method: req.method ?? 'GET',
        useragent: req.headers['user-agent'] ?? '',
      },
      actor: { name: grantOf(res).account },
      source: this.source,
    };
  }
}

/** True when `endpoint`'s `ignoredmediatypes`, `ignore.mediatypes` or `ignore.actions` leave `event` out. */
export function ignoredBy(endpoint: Config['notifications']['endpoints'][number], event: RegistryEvent): boolean {
  if (endpoint.ignore.actions.includes(event.action)) return true;
  const mediaType = event.target.mediaType;
  return mediaType !== undefined && (endpoint.ignoredmediatypes.includes(mediaType) || endpoint.ignore.mediatypes.includes(mediaType));
}
