/**
 * How queued notification batches are grouped into envelopes: Distribution's envelope
 * (`application/vnd.docker.distribution.events.v2+json`, `{"events": [...]}`) carries several events,
 * so consecutive small batches go out as one POST.
 */
import type { QueuedEvent } from './event-text.js';
import type { BatchRef } from './queue.js';

/** The most events one envelope carries. */
export const MAX_ENVELOPE_EVENTS = 512;

/**
 * The batches in order, grouped so that each group goes out as one envelope: consecutive batches
 * of at most {@link MAX_ENVELOPE_EVENTS} events together; a larger batch alone (it is sent in parts).
 */
export function envelopeGroups(batches: readonly BatchRef[]): BatchRef[][] {
  const groups: BatchRef[][] = [];
  let current: BatchRef[] = [];
  let events = 0;
  for (const batch of batches) {
    if (current.length > 0 && events + batch.count > MAX_ENVELOPE_EVENTS) {
      groups.push(current);
      current = [];
      events = 0;
    }
    current.push(batch);
    events += batch.count;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

const OPEN = Buffer.from('{"events":[');
const CLOSE = Buffer.from(']}');

/**
 * The envelope of `events` as UTF-8 (for the signature and the socket): `{"events":[...]}`, each
 * event's JSON text as queued, not parsed and printed again (Distribution indents its envelope with
 * three spaces; a JSON receiver reads both the same); a pending event's bytes are written from its
 * parts (PendingEvent.write), without making its text.
 */
export function envelopeBody(events: readonly QueuedEvent[]): Buffer {
  let size = OPEN.length + CLOSE.length + Math.max(0, events.length - 1);
  for (const e of events) size += typeof e === 'string' ? Buffer.byteLength(e) : e.byteLength();
  const body = Buffer.allocUnsafe(size);
  let at = OPEN.copy(body, 0);
  for (let i = 0; i < events.length; i++) {
    if (i > 0) body[at++] = 0x2c; // ,
    const e = events[i]!;
    at = typeof e === 'string' ? at + body.write(e, at) : e.write(body, at);
  }
  at += CLOSE.copy(body, at);
  if (at !== size) throw new Error(`envelope of ${events.length} events: wrote ${at} bytes of ${size}`);
  return body;
}

/**
 * The webhook id of an envelope (Standard Webhooks `webhook-id`): its event's id, or for several
 * `<first id>.<count>`, the same on every retry of the same events.
 * @throws SyntaxError when the first event is a text that is not JSON
 */
export function envelopeId(events: readonly QueuedEvent[]): string {
  const head = events[0]!;
  const first = typeof head === 'string' ? eventId(head) : head.id();
  return events.length === 1 ? first : `${first}.${events.length}`;
}

/** `{"id":"` then an id of these characters, as event-text.ts writes every event (a UUID). */
const ID_AT_START = /^\{"id":"([0-9A-Za-z-]+)"/;

/**
 * The id of an event's JSON text: read from its start when it is written as event-text.ts writes it
 * (without parsing the whole event, once per POST), else parsed.
 * @throws SyntaxError when the text is not JSON
 */
export function eventId(event: string): string {
  return ID_AT_START.exec(event)?.[1] ?? (JSON.parse(event) as { id: string }).id;
}
