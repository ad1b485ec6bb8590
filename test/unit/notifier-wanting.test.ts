/**
 * Which endpoints an event goes to (Notifier: the `ignore` rules, looked up by action and media type
 * with the last answer compared first): alternating actions and media types, each event is counted
 * for exactly the endpoints whose rules let it through.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { validate } from '../../src/config/load.js';
import { Metrics } from '../../src/observability/metrics.js';
import { Notifier } from '../../src/observability/notifications/notifier.js';
import { MemoryDriver } from '../../src/storage/memory.js';
import { Scrape } from '../support/prometheus.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER = 'application/vnd.docker.distribution.manifest.v2+json';

describe('Notifier', () => {
  it('counts each event for the endpoints that want it, whatever the previous event was', async () => {
    const config = validate({
      log: { level: 'silent' },
      http: { addr: '127.0.0.1:5000' },
      storage: { inmemory: {} },
      notifications: {
        endpoints: [
          { name: 'all', url: 'http://127.0.0.1:9/all' },
          { name: 'no-oci', url: 'http://127.0.0.1:9/no-oci', ignoredmediatypes: [OCI] },
          { name: 'no-pulls', url: 'http://127.0.0.1:9/no-pulls', ignore: { actions: ['pull'] } },
        ],
      },
    });
    const metrics = new Metrics({ defaultMetrics: false });
    const notifier = new Notifier({ config, storage: new MemoryDriver(), logger: pino({ level: 'silent' }), metrics, listenAddress: '127.0.0.1:5000' });
    const req = { socket: { remoteAddress: '127.0.0.1', remotePort: 40000, remoteFamily: 'IPv4' }, headers: { host: 'registry' }, method: 'GET', id: 'req-1' } as unknown as IncomingMessage;
    const res = {} as ServerResponse;
    // media types as fresh strings each time (as read from storage per GET), the same ones again and again, then others
    const calls: ['pull' | 'push', string][] = [['pull', OCI], ['pull', OCI], ['pull', DOCKER], ['pull', OCI], ['push', OCI], ['pull', OCI], ['pull', DOCKER], ['pull', DOCKER]];
    for (const [action, mediaType] of calls) {
      const fresh = `${mediaType.slice(0, 5)}${mediaType.slice(5)}`;
      await notifier.record(req, res, action, { kind: 'manifest', repository: 'team/app', digest: `sha256:${'a'.repeat(64)}`, mediaType: fresh, size: 10, tag: 'v1' });
    }
    const m = new Scrape(await metrics.registry.metrics());
    const events = (endpoint: string): number => m.value('registry_notifications_events_total', { type: 'Events', endpoint });
    expect(events('all')).toBe(8);
    expect(events('no-oci')).toBe(3); // the DOCKER ones
    expect(events('no-pulls')).toBe(1); // the push
    await notifier.stop();
  });
});
