/**
 * How queued notification batches are grouped into envelopes: Distribution's envelope
 * (`application/vnd.docker.distribution.events.v2+json`, `{"events": [...]}`) carries several events,
 * so consecutive small batches go out as one POST.
 */
import type { BatchRef } from './queue.js';

/** The most events one envelope carries. */
export const MAX_ENVELOPE_EVENTS = 64;

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
