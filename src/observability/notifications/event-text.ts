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

/** A second's timestamp text up to its milliseconds, shared by the events of that second. */
interface Second {
  /** ms since the epoch, a multiple of 1000 */
  readonly ms: number;
  /** `YYYY-MM-DDTHH:MM:SS.` */
  readonly prefix: string;
  /** {@link prefix} as ASCII */
  readonly bytes: Buffer;
}

/** the second of the last timestamp made */
let second: Second = { ms: -1, prefix: '', bytes: Buffer.alloc(0) };

/** The {@link Second} of `ms`, made when it changed. */
function secondOf(ms: number): Second {
  const at = ms - (ms % 1000);
  if (at !== second.ms) {
    const prefix = new Date(at).toISOString().slice(0, 20);
    second = { ms: at, prefix, bytes: Buffer.from(prefix, 'latin1') };
  }
  return second;
}

/**
 * `ms` (since the epoch) in RFC 3339 with milliseconds, as Date's toISOString writes it: the text up
 * to the seconds is made once a second (toISOString costs 1 to 4 µs, and every manifest GET makes an
 * event).
 */
export function timestampText(ms: number): string {
  const s = secondOf(ms);
  return `${s.prefix}${String(ms - s.ms).padStart(3, '0')}Z`;
}

/** Writes {@link timestampText} of `milli` ms into second `s` (ASCII) into `into` at `at`; @returns the offset after it */
function writeTimestamp(s: Second, milli: number, into: Buffer, at: number): number {
  at += s.bytes.copy(into, at);
  into[at++] = 0x30 + Math.floor(milli / 100);
  into[at++] = 0x30 + (Math.floor(milli / 10) % 10);
  into[at++] = 0x30 + (milli % 10);
  into[at++] = 0x5a; // Z
  return at;
}

/** A part of an event's JSON text shared by many events, as text (stored batches) and as UTF-8 (envelopes). */
export interface EventPart {
  readonly text: string;
  readonly bytes: Buffer;
}

function part(text: string): EventPart {
  return { text, bytes: Buffer.from(text) };
}

/** The part of an event's text from its action to the request's opening brace: `"action":...,"target":{...},"request":{`. */
export function eventHead(action: string, target: string): EventPart {
  return part(`"action":${text(action)},"target":${target},"request":{`);
}

/**
 * The part of an event's text after the request's id: the request's other members (`,"addr":...`,
 * each with its leading comma), the request's closing brace, `actor`, `source` and the event's
 * closing brace.
 */
export function eventTail(requestMembers: string, actor: string, source: string): EventPart {
  return part(`${requestMembers}},"actor":${actor},"source":${source}}`);
}

/** Request ids written as they are (access-log.ts makes or accepts only these): no character JSON escapes. */
const PLAIN_ID = /^[A-Za-z0-9._-]*$/;
const ID_OPEN = Buffer.from('{"id":"');
const TIMESTAMP_OPEN = Buffer.from('","timestamp":"');
/** `{"id":"` + UUID + `","timestamp":"` + timestamp + `",` in characters (ASCII) besides the UUID and timestamp */
const FRAME_CHARS = ID_OPEN.length + TIMESTAMP_OPEN.length + 2;

/**
 * An event kept as the parts of its JSON text, made when the request is answered, until it is
 * stored or delivered: the head (action and target) and the tail (the request's other members,
 * actor, source) are shared by many events (see EventFactory.pending), so a pull event kept in
 * memory is one small object. Its id is drawn when it is first written ({@link text}, {@link write})
 * and kept, and its timestamp is the time it was recorded: every endpoint and every retry sends
 * the same bytes. {@link write} puts them into an envelope without making the event's text
 * (making, joining and encoding the texts was most of a pull event's cost: docs/performance.md).
 */
export class PendingEvent {
  private uuid: string | undefined;
  /** the request id's JSON text, without quotes when plain */
  private readonly requestId: string | undefined;
  private readonly quoted: boolean;
  private readonly second: Second;
  /** ms into {@link second} */
  private readonly milli: number;

  /**
   * @param head {@link eventHead}'s part
   * @param requestId the request's id (any text: escaped when it needs to be; undefined: left out)
   * @param tail {@link eventTail}'s part
   * @param ms when the event happened (ms since the epoch)
   */
  constructor(
    private readonly head: EventPart,
    requestId: string | undefined,
    private readonly tail: EventPart,
    ms: number,
  ) {
    // the second's shared record and a small integer, not a number V8 boxes: pull events live in memory for a second or more
    this.second = secondOf(ms);
    this.milli = ms - this.second.ms;
    this.quoted = requestId !== undefined && !PLAIN_ID.test(requestId);
    this.requestId = this.quoted ? text(requestId!) : requestId;
  }

  /** The event's id (a UUID), drawn once. */
  id(): string {
    return (this.uuid ??= randomUUID());
  }

  /** The event's JSON text (the same on every call, and the same bytes as {@link write}'s). */
  text(): string {
    const tail = this.requestId === undefined && this.tail.text.startsWith(',') ? this.tail.text.slice(1) : this.tail.text;
    const request = this.requestId === undefined ? '' : this.quoted ? `"id":${this.requestId}` : `"id":"${this.requestId}"`;
    return `{"id":"${this.id()}","timestamp":"${timestampText(this.second.ms + this.milli)}",${this.head.text}${request}${tail}`;
  }

  /** The length of {@link write}'s bytes. */
  byteLength(): number {
    const request = this.requestId === undefined ? (this.tail.bytes[0] === 0x2c ? -1 : 0) : 5 + (this.quoted ? Buffer.byteLength(this.requestId) : this.requestId.length + 2);
    return FRAME_CHARS + 36 + this.second.prefix.length + 4 + this.head.bytes.length + request + this.tail.bytes.length;
  }

  /** Writes the event's JSON text as UTF-8 into `into` at `at` (room for {@link byteLength} bytes); @returns the offset after it */
  write(into: Buffer, at: number): number {
    at += ID_OPEN.copy(into, at);
    at += into.write(this.id(), at, 'latin1');
    at += TIMESTAMP_OPEN.copy(into, at);
    at = writeTimestamp(this.second, this.milli, into, at);
    into[at++] = 0x22; // "
    into[at++] = 0x2c; // ,
    at += this.head.bytes.copy(into, at);
    let tail = this.tail.bytes;
    if (this.requestId === undefined) {
      if (tail[0] === 0x2c) tail = tail.subarray(1);
    } else if (this.quoted) {
      at += into.write('"id":', at, 'latin1');
      at += into.write(this.requestId, at);
    } else {
      at += into.write('"id":"', at, 'latin1');
      at += into.write(this.requestId, at, 'latin1');
      into[at++] = 0x22;
    }
    return at + tail.copy(into, at);
  }
}

/** An event in a queue: its JSON text, or its parts. */
export type QueuedEvent = string | PendingEvent;

/** The JSON text of a queued event, whichever way it was kept. */
export function queuedText(event: QueuedEvent): string {
  return typeof event === 'string' ? event : event.text();
}
