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
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { grantOf } from '../../auth/middleware.js';
import type { Config } from '../../config/schema.js';
import { urlBase } from '../../listener/location.js';
import { actorText, eventHead, eventTail, member, PendingEvent, sourceText, targetText, timestampText, type EventPart } from './event-text.js';

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

/** A body's stand-in in {@link EventFactory}'s last target: only whether there is one shows in the head (the digest stands for its content). */
const EMPTY = Buffer.alloc(0);

/** True when two targets make the same event head (every field that shows in it; of the body, whether there is one). */
function sameTarget(a: EventTarget, b: EventTarget): boolean {
  return (
    a.digest === b.digest &&
    a.tag === b.tag &&
    a.repository === b.repository &&
    a.kind === b.kind &&
    a.mediaType === b.mediaType &&
    a.size === b.size &&
    a.fromRepository === b.fromRepository &&
    (a.body === undefined) === (b.body === undefined)
  );
}

/** Where a route hands its events: a push's, mount's or delete's is stored (for every endpoint that wants it) before it resolves; a pull's is queued (see queue.ts). */
export interface EventRecorder {
  /**
   * Records an event of `req`: a promise to await for a push, mount or delete, undefined for a pull
   * (nothing to wait for: no promise made per manifest GET; the routes call it with `void`, so not even an `await` of undefined).
   * @throws the storage's error when a push's, mount's or delete's event could not be stored
   */
  record(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): Promise<void> | undefined;
}

/** Distribution's blob media type in events: the registry does not know a blob's own. */
const BLOB_MEDIA_TYPE = 'application/octet-stream';
/** Event heads kept by {@link EventFactory.pending} (all dropped when full). */
const TARGETS_KEPT = 1024;
/** An absent member in a key of {@link EventFactory.pending}'s heads. */
const NONE = '\u0001';

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
    this.sourceJson = sourceText(this.source);
  }

  /** the JSON text of {@link source} */
  private readonly sourceJson: string;
  /** event heads (see eventHead) by action, target and URL base (see {@link pending}), up to {@link TARGETS_KEPT} */
  private readonly targets = new Map<string, EventPart>();
  /** the last head {@link pending} made or found, and what it was made of: a stream of pulls of one tag asks for it again and again */
  private last: { action: EventAction; target: EventTarget; base: string; head: EventPart } | undefined;
  /** by connection: the event tail (see eventTail), and the host, method, user agent and account it was made of */
  private readonly connections = new WeakMap<Socket, { host: string | undefined; method: string; useragent: string; account: string | undefined; tail: EventPart }>();

  /** The event of `action` on `target`, by `req`. */
  create(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): RegistryEvent {
    const socket = req.socket;
    return {
      id: randomUUID(),
      timestamp: timestampText(Date.now()),
      action,
      target: this.target(urlBase(this.config.http, req), action, target),
      request: { id: req.id, addr: addressOf(socket), host: req.headers.host, method: req.method ?? 'GET', useragent: req.headers['user-agent'] ?? '' },
      actor: { name: grantOf(res).account },
      source: this.source,
    };
  }

  /**
   * The JSON text of {@link create}'s event, equal to `eventText(create(...))`: {@link pending}'s, joined now.
   */
  line(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): string {
    return this.pending(req, res, action, target).text();
  }

  /**
   * {@link create}'s event as the parts of its JSON text (see PendingEvent), made without the event
   * object: the head (action and target) is kept by target, the last one compared field by field
   * before any lookup (a manifest GET stream asks for the same few), and the tail (the request's
   * members after its id, actor, source) by connection (same address, and mostly the same host,
   * method, user agent and account), so that a manifest GET's event costs a few comparisons and one
   * small object; its UUID is drawn and its bytes written when it is delivered or stored.
   */
  pending(req: IncomingMessage, res: ServerResponse, action: EventAction, target: EventTarget): PendingEvent {
    const base = urlBase(this.config.http, req);
    const last = this.last;
    const head = last !== undefined && last.action === action && last.base === base && sameTarget(last.target, target) ? last.head : this.head(base, action, target);
    const socket = req.socket;
    const host = req.headers.host;
    const method = req.method ?? 'GET';
    const useragent = req.headers['user-agent'] ?? '';
    const account = grantOf(res).account;
    let connection = this.connections.get(socket);
    if (connection === undefined || connection.host !== host || connection.method !== method || connection.useragent !== useragent || connection.account !== account) {
      const members = member('addr', addressOf(socket)) + member('host', host) + member('method', method) + member('useragent', useragent);
      connection = { host, method, useragent, account, tail: eventTail(members, actorText(account), this.sourceJson) };
      this.connections.set(socket, connection);
    }
    return new PendingEvent(head, req.id, connection.tail, Date.now());
  }

  /** The head of an event of `action` on `target` under `base`, from {@link targets} or made and kept; kept as {@link last} too. */
  private head(base: string, action: EventAction, target: EventTarget): EventPart {
    const key = `${action}\0${target.kind}\0${target.repository}\0${target.digest ?? NONE}\0${target.mediaType ?? NONE}\0${target.size ?? NONE}\0${target.tag ?? NONE}\0${target.fromRepository ?? NONE}\0${target.body === undefined}\0${base}`;
    let head = this.targets.get(key);
    if (head === undefined) {
      head = eventHead(action, targetText(this.target(base, action, target)));
      if (this.targets.size >= TARGETS_KEPT) this.targets.clear();
      this.targets.set(key, head);
    }
    const { kind, repository, digest, mediaType, size, tag, fromRepository, body } = target;
    this.last = { action, base, head, target: { kind, repository, digest, mediaType, size, tag, fromRepository, body: body === undefined ? undefined : EMPTY } };
    return head;
  }

  /** The `target` record of an event of `action` on `target`, its URL under `base`. */
  private target(base: string, action: EventAction, target: EventTarget): RegistryEvent['target'] {
    if (action === 'delete') return { digest: target.digest, repository: target.repository, tag: target.tag };
    const path = target.digest ? `/v2/${target.repository}/${target.kind === 'manifest' ? 'manifests' : 'blobs'}/${target.digest}` : undefined;
    const includeReferences = this.config.notifications.events.includereferences && target.kind === 'manifest' && target.body !== undefined;
    return {
      mediaType: target.kind === 'blob' ? BLOB_MEDIA_TYPE : target.mediaType,
      size: target.size,
      digest: target.digest,
      length: target.size,
      repository: target.repository,
      fromRepository: target.fromRepository,
      url: path === undefined ? undefined : base + path,
      tag: target.tag,
      references: includeReferences ? manifestReferences(target.body!) : undefined,
    };
  }
}

/** `address:port` of a connection's peer (IPv6 in brackets), or undefined when it is gone. */
function addressOf(socket: Socket): string | undefined {
  return socket.remoteAddress === undefined ? undefined : `${socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]` : socket.remoteAddress}:${socket.remotePort}`;
}

/** The media type an event of `target` carries (what `ignore.mediatypes` matches), as {@link EventFactory.create} sets it. */
export function eventMediaType(action: EventAction, target: EventTarget): string | undefined {
  if (action === 'delete') return undefined;
  return target.kind === 'blob' ? BLOB_MEDIA_TYPE : target.mediaType;
}

/** True when `endpoint`'s `ignoredmediatypes`, `ignore.mediatypes` or `ignore.actions` leave `event` out. */
export function ignoredBy(endpoint: Config['notifications']['endpoints'][number], event: Pick<RegistryEvent, 'action'> & { target: { mediaType?: string } }): boolean {
  if (endpoint.ignore.actions.includes(event.action)) return true;
  const mediaType = event.target.mediaType;
  return mediaType !== undefined && (endpoint.ignoredmediatypes.includes(mediaType) || endpoint.ignore.mediatypes.includes(mediaType));
}
