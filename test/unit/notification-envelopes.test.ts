import { expect, it } from 'vitest';
import { envelopeBody, envelopeGroups, envelopeId, MAX_ENVELOPE_EVENTS } from '../../src/observability/notifications/envelopes.js';

it('groups consecutive batches into envelopes of at most MAX_ENVELOPE_EVENTS events, in queue order; a larger batch alone', () => {
  const b = (name: string, count: number) => ({ name, count });
  expect(envelopeGroups([])).toEqual([]);
  expect(envelopeGroups([b('1', 1)])).toEqual([[b('1', 1)]]);
  const half = MAX_ENVELOPE_EVENTS / 2;
  expect(envelopeGroups([b('1', half - 2), b('2', half - 2), b('3', 4), b('4', 1), b('5', 20)])).toEqual([[b('1', half - 2), b('2', half - 2), b('3', 4)], [b('4', 1), b('5', 20)]]);
  expect(envelopeGroups([b('1', 3), b('2', MAX_ENVELOPE_EVENTS + 1), b('3', 2)])).toEqual([[b('1', 3)], [b('2', MAX_ENVELOPE_EVENTS + 1)], [b('3', 2)]]);
});

it("sends the queued events' text as they are, in one envelope with a webhook id that names the first and the count", () => {
  const events = [{ id: 'a', action: 'pull' }, { id: 'b', action: 'push' }].map((e) => JSON.stringify(e));
  expect(JSON.parse(envelopeBody(events))).toEqual({ events: [{ id: 'a', action: 'pull' }, { id: 'b', action: 'push' }] });
  expect(envelopeId(events)).toBe('a.2');
  expect(envelopeId(events.slice(1))).toBe('b');
});
