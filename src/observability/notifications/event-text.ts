/**
 * An event's JSON text, as `JSON.stringify(event)` writes it (same keys in the same order, undefined
 * members left out), built from the fields {@link RegistryEvent} has instead of walking the object:
 * V8's JSON.stringify leaves its fast path on objects with undefined members, and the event of
 * every manifest GET is serialized (about 3 µs a pull on the bench machine, against 1 here).
 */
import { randomUUID } from 'node:crypto';
import type { EventDescriptor, RegistryEvent } from './events.js';

const text = JSON.stringify as (value: string | number) => string;

/** `,"key":value` for a defined value, '' for an undefined one. */
export function member(key: string, value: string | number | undefined): string {
  return value === undefined ? '' : `,"${key}":${text(value)}`;
}

/** Members in order, the first without its comma: `{...}`. */
export function object(members: string): string {
  return `{${members.startsWith(',') ? members.slice(1) : members}}`;
}

/** The JSON text of a descriptor in `references`. */
export function descriptorText(d: EventDescriptor): string {
  return object(member('mediaType', d.mediaType) + member('size', d.size) + member('digest', d.digest));
}

/** The JSON text of `event`, equal to `JSON.stringify(event)`. */
export function eventText(event: RegistryEvent): string {
  const r = event.request;
  const request = object(member('id', r.id) + member('addr', r.addr) + member('host', r.host) + member('method', r.method) + member('useragent', r.useragent));
  return eventLine(event.id, event.timestamp, event.action, targetText(event.target), request, actorText(event.actor.name), sourceText(event.source));
}

/** The JSON text of an event's `target`. */
export function targetText(t: RegistryEvent['target']): string {
  const references = t.references === undefined ? '' : `,"references":[${t.references.map(descriptorText).join(',')}]`;
  return object(
    member('mediaType', t.mediaType) +
      member('size', t.size) +
      member('digest', t.digest) +
      member('length', t.length) +
      member('repository', t.repository) +
      member('fromRepository', t.fromRepository) +
      member('url', t.url) +
      member('tag', t.tag) +
      references,
  );
}

/** The JSON text of an event's `actor`. */
export function actorText(name: string | undefined): string {
  return name === undefined ? '{}' : `{"name":${text(name)}}`;
}

/** The JSON text of an event's `source`. */
export function sourceText(source: RegistryEvent['source']): string {
  return object(member('addr', source.addr) + member('instanceID', source.instanceID));
}

/** An event's JSON text from the texts of its parts (`request`, `actor`, ... as JSON objects). */
export function eventLine(id: string, timestamp: string, action: string, target: string, request: string, actor: string, source: string): string {
  return `{"id":${text(id)},"timestamp":${text(timestamp)},"action":${text(action)},"target":${target},"request":${request},"actor":${actor},"source":${source}}`;
}

/** the second of the last timestamp made (ms since the epoch, floored) and its text up to the seconds' dot */
let second = { ms: -1, prefix: '' };

/**
 * `ms` (since the epoch) in RFC 3339 with milliseconds, as Date's toISOString writes it: the text up
 * to the seconds is made once a second (toISOString costs 1 to 4 µs, and every manifest GET makes an
 * event).
 */
export function timestampText(ms: number): string {
  const at = ms - (ms % 1000);
  if (at !== second.ms) second = { ms: at, prefix: new Date(at).toISOString().slice(0, 20) };
  return `${second.prefix}${String(ms - at).padStart(3, '0')}Z`;
}

/**
 * An event kept as the parts of its JSON text, made when the request is answered, until it is
 * stored or delivered: {@link text} joins them, once (its id is drawn and its timestamp written
 * then, and kept: every endpoint and every retry sends the same text). The parts are texts shared by
 * many events (the target's, the connection's request members, the source's), so a pull event kept
 * in memory holds a few references instead of a text of half a kilobyte, and its UUID and JSON are
 * made in the delivery's turn, off the request's path. The text equals {@link eventLine}'s of the
 * same parts.
 */
export class PendingEvent {
  private joined: string | undefined;

  /**
   * @param action one of Distribution's actions (no character JSON escapes)
   * @param target the target's JSON text
   * @param requestId the request's id (any text: escaped; undefined: left out)
   * @param requestMembers the request's members after its id, as JSON text (`,"addr":...`)
   * @param actor the actor's JSON text
   * @param source the source's JSON text
   * @param ms when the event happened (ms since the epoch)
   */
  constructor(
    readonly action: string,
    private readonly target: string,
    private readonly requestId: string | undefined,
    private readonly requestMembers: string,
    private readonly actor: string,
    private readonly source: string,
    readonly ms: number,
  ) {}

  /** The event's JSON text (the same on every call). */
  text(): string {
    // a UUID, an RFC 3339 timestamp and an action need no escaping: written as JSON.stringify writes them
    const request = this.requestId === undefined ? object(this.requestMembers) : `{"id":${text(this.requestId)}${this.requestMembers}}`;
    this.joined ??= `{"id":"${randomUUID()}","timestamp":"${timestampText(this.ms)}","action":"${this.action}","target":${this.target},"request":${request},"actor":${this.actor},"source":${this.source}}`;
    return this.joined;
  }
}

/** The JSON text of a queued event, whichever way it was kept. */
export function queuedText(event: string | PendingEvent): string {
  return typeof event === 'string' ? event : event.text();
}
