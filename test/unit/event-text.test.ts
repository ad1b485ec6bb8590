import { describe, expect, it } from 'vitest';
import { eventText } from '../../src/observability/notifications/event-text.js';
import { EventFactory, type EventTarget, type RegistryEvent } from '../../src/observability/notifications/events.js';
import { validate } from '../../src/config/load.js';
import type { IncomingMessage, ServerResponse } from 'node:http';

const config = validate({ http: { addr: '127.0.0.1:5000' }, storage: { filesystem: { rootdirectory: '/tmp/unused' } }, notifications: { events: { includereferences: true }, endpoints: [] } });
const DIGEST = `sha256:${'a'.repeat(64)}`;
const manifest = Buffer.from(JSON.stringify({ config: { mediaType: 'application/x', size: 2, digest: DIGEST }, layers: [{ mediaType: 'application/y', digest: DIGEST }] }));

function request(extra: Partial<{ host: string; ua: string; addr: string | undefined; family: string }> = {}): IncomingMessage {
  const headers: Record<string, string> = { host: extra.host ?? '127.0.0.1:5000' };
  if (extra.ua !== undefined) headers['user-agent'] = extra.ua;
  return { id: 'req-1', method: 'GET', url: '/v2/a/manifests/x', headers, socket: { remoteAddress: 'addr' in extra ? extra.addr : '127.0.0.1', remoteFamily: extra.family ?? 'IPv4', remotePort: 4000 } } as unknown as IncomingMessage;
}

const targets: [string, 'push' | 'pull' | 'delete' | 'mount', EventTarget][] = [
  ['manifest pull by tag', 'pull', { kind: 'manifest', repository: 'team/app', digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500, tag: 'v1' }],
  ['manifest push with references', 'push', { kind: 'manifest', repository: 'team/app', digest: DIGEST, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: manifest.length, tag: 'v1', body: manifest }],
  ['blob mount', 'mount', { kind: 'blob', repository: 'b', digest: DIGEST, size: 3, fromRepository: 'a' }],
  ['tag delete', 'delete', { kind: 'manifest', repository: 'a', tag: 'v"1\u2028' }],
  ['digest delete', 'delete', { kind: 'manifest', repository: 'a', digest: DIGEST }],
];

describe('eventText', () => {
  it.each(targets)('writes a %s as JSON.stringify does', (_name, action, target) => {
    const factory = new EventFactory(config, '127.0.0.1:5000');
    for (const req of [request(), request({ ua: 'docker/28 "quoted" \\ \n', host: 'r.example:443', family: 'IPv6', addr: '::1' }), request({ addr: undefined })]) {
      const event = factory.create(req, { locals: {} } as unknown as ServerResponse, action, target);
      expect(eventText(event)).toBe(JSON.stringify(event));
    }
  });
});

it("stamps events in toISOString's form, now", () => {
  const factory = new EventFactory(config, '127.0.0.1:5000');
  for (let i = 0; i < 3; i++) {
    const before = Date.now();
    const { timestamp } = factory.create(request(), { locals: {} } as unknown as ServerResponse, 'pull', targets[0]![2]);
    expect(new Date(timestamp).toISOString()).toBe(timestamp);
    expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(timestamp)).toBeLessThanOrEqual(Date.now());
  }
});

describe('EventFactory.line', () => {
  /** An event's text without its id and timestamp (random and now). */
  const stable = (line: string) => {
    const { id, timestamp, ...rest } = JSON.parse(line) as { id: string; timestamp: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(timestamp).toISOString()).toBe(timestamp);
    return rest;
  };

  it.each(targets)('writes a %s as eventText(create()) does, in the same form', (_name, action, target) => {
    const factory = new EventFactory(config, '127.0.0.1:5000');
    const socket = { remoteAddress: '127.0.0.1', remoteFamily: 'IPv4', remotePort: 4000 };
    const requests = [request(), request({ ua: 'docker/28 "quoted" \\ \n', host: 'r.example:443', family: 'IPv6', addr: '::1' }), request({ addr: undefined })];
    // the same connection asked again, and with another host and user agent: the kept members follow the request
    const same = [request(), request({ ua: 'skopeo', host: 'other:5000' }), request()].map((r) => Object.assign(r, { socket }));
    for (const req of [...requests, ...requests, ...same]) {
      const res = { locals: {} } as unknown as ServerResponse;
      const line = factory.line(req, res, action, target);
      expect(eventText(JSON.parse(line) as RegistryEvent)).toBe(line);
      expect(stable(line)).toEqual(stable(JSON.stringify(factory.create(req, res, action, target))));
    }
  });

  it('keeps targets apart by every field that shows in the text', () => {
    const factory = new EventFactory(config, '127.0.0.1:5000');
    const res = { locals: {} } as unknown as ServerResponse;
    const base = targets[0]![2];
    const variants: EventTarget[] = [
      { ...base, tag: 'v2' },
      { ...base, tag: undefined },
      { ...base, repository: 'team/other' },
      { ...base, size: 501 },
      { ...base, kind: 'blob' },
      { ...base, digest: `sha256:${'b'.repeat(64)}` },
      { ...base, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' },
      { ...base, fromRepository: 'team/base' },
      { ...base, body: manifest },
    ];
    // each right after the base: the last target kept (a stream of pulls of one tag) is told apart by every field
    for (const target of variants.flatMap((v) => [base, v, v])) {
      expect(stable(factory.line(request(), res, 'pull', target))).toEqual(stable(JSON.stringify(factory.create(request(), res, 'pull', target))));
    }
  });
});

describe('EventFactory.pending (a pull kept in memory as the parts of its text)', () => {
  it.each(targets)('makes a %s later, byte for byte the event of the time it was recorded', async (_name, action, target) => {
    const factory = new EventFactory(config, '127.0.0.1:5000');
    const requests = [request(), request({ ua: 'docker/28 "quoted" \\ \n', host: 'r.example:443', family: 'IPv6', addr: '::1' }), request({ addr: undefined }), Object.assign(request(), { id: undefined })];
    for (const req of requests) {
      const res = { locals: {} } as unknown as ServerResponse;
      const before = Date.now();
      const pending = factory.pending(req, res, action, target);
      const after = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5));
      const text = pending.text();
      const { id, timestamp } = JSON.parse(text) as { id: string; timestamp: string };
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Date.parse(timestamp)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(timestamp)).toBeLessThanOrEqual(after);
      // the event create() makes, with the id and timestamp the text drew: the same bytes as JSON.stringify writes
      const event = { ...factory.create(req, res, action, target), id, timestamp };
      const ordered = { id, timestamp, action: event.action, target: event.target, request: event.request, actor: event.actor, source: event.source };
      expect(text).toBe(JSON.stringify(ordered));
      expect(text).toBe(eventText(event));
      // made once: every endpoint and every retry sends the same text
      expect(pending.text()).toBe(text);
    }
  });
});
