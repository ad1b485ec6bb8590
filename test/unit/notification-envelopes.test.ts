import { expect, it } from 'vitest';
import { envelopeGroups, MAX_ENVELOPE_EVENTS } from '../../src/observability/notifications/envelopes.js';

it('groups consecutive batches into envelopes of at most MAX_ENVELOPE_EVENTS events, in queue order; a larger batch alone', () => {
  const b = (name: string, count: number) => ({ name, count });
  expect(envelopeGroups([])).toEqual([]);
  expect(envelopeGroups([b('1', 1)])).toEqual([[b('1', 1)]]);
  expect(envelopeGroups([b('1', 30), b('2', 30), b('3', 4), b('4', 1), b('5', 20)])).toEqual([[b('1', 30), b('2', 30), b('3', 4)], [b('4', 1), b('5', 20)]]);
  expect(envelopeGroups([b('1', 3), b('2', MAX_ENVELOPE_EVENTS + 1), b('3', 2)])).toEqual([[b('1', 3)], [b('2', MAX_ENVELOPE_EVENTS + 1)], [b('3', 2)]]);
});
