import { expect, it } from 'vitest';
import { envelopeBody, envelopeGroups, envelopeId, MAX_ENVELOPE_EVENTS } from '../../src/observability/notifications/envelopes.js';
import { eventHead, eventTail, PendingEvent, queuedText } from '../../src/observability/notifications/event-text.js';

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
  expect(JSON.parse(envelopeBody(events).toString('utf8'))).toEqual({ events: [{ id: 'a', action: 'pull' }, { id: 'b', action: 'push' }] });
  expect(envelopeId(events)).toBe('a.2');
  expect(envelopeId(events.slice(1))).toBe('b');
});

it("writes pending events' bytes from their parts, byte for byte their texts, among texts; the webhook id is the first pending event's id", () => {
  const head = eventHead('pull', '{"repository":"tëam/app","tag":"v\u2028"}');
  const tails = [eventTail(',"addr":"127.0.0.1:4000","method":"GET","useragent":"docker/28 \\"ü\\""', '{"name":"ana"}', '{"addr":"h:5000"}'), eventTail('', '{}', '{}')];
  const stamps = ['2026-12-07T15:00:00.007Z', '2026-12-07T15:00:00.000Z', '2026-12-07T15:00:01.090Z', '2026-12-07T15:00:59.999Z', '2026-12-07T15:00:00.123Z', '2026-12-31T23:59:59.010Z'];
  const pending = [undefined, 'req-1', 'a"b\u00e9\n'].flatMap((id, i) => tails.map((tail, j) => new PendingEvent(head, id, tail, Date.parse(stamps[i * 2 + j]!))));
  const events = ['{"id":"x","action":"push","target":{"tag":"é"}}', ...pending, '{"id":"y"}'];
  const body = envelopeBody(events);
  expect(body.toString('utf8')).toBe(`{"events":[${events.map(queuedText).join(',')}]}`);
  const parsed = (JSON.parse(body.toString('utf8')) as { events: { id: string; timestamp: string; request: { id?: string } }[] }).events;
  expect(parsed.slice(1, -1).map((e) => e.request.id)).toEqual([undefined, undefined, 'req-1', 'req-1', 'a"b\u00e9\n', 'a"b\u00e9\n']);
  expect(parsed.slice(1, -1).map((e) => e.timestamp)).toEqual(stamps);
  // the id is drawn once: a retry sends the same bytes
  expect(envelopeBody(events).equals(body)).toBe(true);
  expect(envelopeId(pending)).toBe(`${parsed[1]!.id}.6`);
  expect(envelopeId(pending.slice(2, 3))).toBe(parsed[3]!.id);
  expect(envelopeBody([]).toString()).toBe('{"events":[]}');
});
