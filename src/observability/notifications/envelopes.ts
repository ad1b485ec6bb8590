/**
 * How queued notification batches are grouped into envelopes: Distribution's envelope
 * (`application/vnd.docker.distribution.events.v2+json`, `{"events": [...]}`) carries several events,
 * so consecutive small batches go out as one POST.
 */
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

/**
 * The envelope of `events` (each the JSON text of one event, as queued): `{"events":[...]}`, the
 * events' text joined as it is, not parsed and printed again (Distribution indents its envelope with
 * three spaces; a JSON receiver reads both the same).
 */
export function envelopeBody(events: readonly string[]): string {
  return `{"events":[${events.join(',')}]}`;
}

/**
 * The webhook id of an envelope (Standard Webhooks `webhook-id`): its event's id, or for several
 * `<first id>.<count>`, the same on every retry of the same events.
 * @throws SyntaxError when the first event is not JSON
 */
export function envelopeId(events: readonly string[]): string {
  const first = eventId(events[0]!);
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
