/**
 * The registry the operations views' browser test drives: a real `wharf serve` whose pull-through
 * cache has CNCF Distribution (`docker-registry`, started as the proxy e2e starts it) as its upstream,
 * holding a two-platform image pushed by skopeo, and whose notification endpoint is a webhook
 * receiver in the test (test/support/receiver.ts) that can go down and come back.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { removeDir, run, startWharf, tempDir, type WharfServer } from './helpers.js';
import { writeMultiPlatformLayout } from './oci-layout.js';
import { startDistribution, type DistributionServer } from './proxy-env.js';

/** The receiver's Standard Webhooks secret. */
const SECRET = `whsec_${Buffer.from('ui-ops-test-secret-32-bytes-long').toString('base64')}`;

/** What the fixture started. */
export interface UiOpsRegistry {
  wharf: WharfServer;
  upstream: DistributionServer;
  receiver: Receiver;
  work: string;
  /** an OCI layout holding a two-platform image tagged `1` (pushed upstream, and pushed again by the test) */
  layout: string;
  /** skopeo copy between two references, plain HTTP */
  copy(from: string, to: string): Promise<void>;
  /** stops everything it started */
  dispose(): Promise<void>;
}

/** Starts the upstream with `library/app:1`, the receiver and the caching Wharf. */
export async function startUiOpsRegistry(): Promise<UiOpsRegistry> {
  const work = await tempDir('wharf-e2e-ui-ops-');
  const stops: (() => Promise<unknown>)[] = [() => removeDir(work)];
  try {
    const upstream = await startDistribution(join(work, 'distribution'));
    stops.push(() => upstream.stop());
    const layout = join(work, 'app');
    await writeMultiPlatformLayout(work, layout, '1');
    const copy = async (from: string, to: string) => {
      await run('skopeo', ['copy', '--all', '--src-tls-verify=false', '--dest-tls-verify=false', from, to], { timeoutMs: 300_000 });
    };
    await copy(`oci:${layout}:1`, `docker://${upstream.host}/library/app:1`);
    const receiver = await startReceiver(SECRET);
    stops.push(() => receiver.close());
    const config = join(work, 'wharf.yml');
    await writeFile(
      config,
      [
        'proxy:',
        '  upstreams:',
        `    - {name: hub, url: "${upstream.url}", prefix: dockerhub, default: true, namespaces: [docker.io]}`,
        `notifications: {endpoints: [{name: ci, url: "${receiver.url}", secret: "${SECRET}", backoff: 100ms, threshold: 3}]}`,
        '',
      ].join('\n'),
    );
    const wharf = await startWharf({ configFile: config });
    stops.push(() => wharf.dispose());
    return {
      wharf,
      upstream,
      receiver,
      work,
      layout,
      copy,
      async dispose() {
        for (const stop of stops.reverse()) await stop();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
