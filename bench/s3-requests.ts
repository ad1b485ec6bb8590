/**
 * `node dist/bench/s3-requests.js [--blob-mib N] [--chunk-mib N]`: how many S3 requests (by command) and
 * how much time each registry operation costs on the S3 store of the tests (Ceph RGW; see
 * test/support/s3.ts), Wharf in this process over its own S3 driver. The profile behind issue 18's
 * changes: run it before and after a change of src/storage/s3.ts.
 */
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { validate } from '../src/config/load.js';
import { createHttpServer } from '../src/server.js';
import { S3Driver } from '../src/storage/s3.js';
import { startS3 } from '../test/support/s3.js';
import { blobDigest } from './data.js';
import { agent, expect } from './http.js';
import { addTags, pullBlob, pushBlob, pushSmallImage, putManifest, MANIFEST_ACCEPT } from './workloads.js';

const MiB = 1024 * 1024;

async function main(): Promise<void> {
  const o = new Command()
    .option('--blob-mib <n>', 'blob size, MiB', Number, 256)
    .option('--chunk-mib <n>', 'PATCH size of the chunked push, MiB', Number, 8)
    .option('--tags <n>', 'tags in the listed repository', Number, 100)
    .parse(process.argv)
    .opts<{ blobMib: number; chunkMib: number; tags: number }>();
  const s3 = await startS3({ bucket: 'wharf-requests' });
  const counts = new Map<string, number>();
  const settings = { bucket: s3.bucket, endpoint: s3.endpoint, forcepathstyle: true, accesskey: s3.accessKey, secretkey: s3.secretKey, rootdirectory: 'r' };
  const config = validate({ log: { level: 'silent' }, http: { addr: '127.0.0.1:0' }, storage: { s3: settings } });
  const driver = new S3Driver({
    bucket: s3.bucket, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true,
    accessKey: s3.accessKey, secretKey: s3.secretKey, rootDirectory: 'r', chunkSize: config.storage.s3!.chunksize,
  });
  for (const client of driver.clients()) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        counts.set(context.commandName!, (counts.get(context.commandName!) ?? 0) + 1);
        if (process.env.S3_REQUESTS_TRACE === context.commandName) process.stderr.write(`${context.commandName} ${JSON.stringify((args.input as { Key?: string }).Key)}\n`);
        return next(args);
      },
      { step: 'initialize' },
    );
  }
  driver.observeSmallRequests((method, key) => {
    const name = `${method} (without the SDK)`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (process.env.S3_REQUESTS_TRACE === name) process.stderr.write(`${name} ${JSON.stringify(key)}\n`);
  });
  const server = createHttpServer(createApp({ config, storage: driver, logger: pino({ level: 'silent' }) }), config.http);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rows: string[] = ['| operation | ms | S3 requests |', '|---|---:|---|'];
  const measure = async (label: string, work: () => Promise<unknown>): Promise<void> => {
    counts.clear();
    const start = performance.now();
    await work();
    const ms = performance.now() - start;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const detail = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c.replace(/Command$/, '')} ${n}`).join(', ');
    rows.push(`| ${label} | ${ms.toFixed(0)} | ${total}: ${detail} |`);
    process.stderr.write(`${rows.at(-1)}\n`);
  };
  try {
    const size = o.blobMib * MiB;
    for (const mode of ['monolithic', 'streamed', 'chunked'] as const) {
      const digest = blobDigest(mode, size);
      let commit = 0;
      await measure(`${o.blobMib} MiB push, ${mode}`, async () => (commit = (await pushBlob(base, 'req/blobs', mode, mode, size, digest, o.chunkMib * MiB)).commitS));
      rows[rows.length - 1] = rows.at(-1)!.replace(/^\| ([^|]+) \|/, `| $1 (final PUT ${(commit * 1000).toFixed(0)} ms) |`);
    }
    await measure(`${o.blobMib} MiB pull`, () => pullBlob(base, 'req/blobs', blobDigest('chunked', size), size));
    let image!: Awaited<ReturnType<typeof pushSmallImage>>;
    await measure('small image push (2 blobs + manifest)', async () => (image = await pushSmallImage(base, 'req/meta')));
    await measure('manifest PUT by tag (a stored manifest, a new tag)', () => putManifest(base, 'req/meta', 'again', image.manifest));
    await measure('manifest PUT by tag, the same again (the tag holds it)', () => putManifest(base, 'req/meta', 'again', image.manifest));
    await measure('manifest GET by tag', () => expect(200, `${base}/v2/req/meta/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } }));
    await measure('manifest HEAD by digest', () => expect(200, `${base}/v2/req/meta/manifests/${image.digest}`, { method: 'HEAD', headers: { Accept: MANIFEST_ACCEPT } }));
    await addTags(base, image, o.tags);
    await measure(`tags/list of ${o.tags + 2} tags`, () => expect(200, `${base}/v2/req/meta/tags/list`));
    await measure('_catalog', () => expect(200, `${base}/v2/_catalog`));
    // the same operations at once (as the bench's loads send them): concurrent identical reads share requests
    const times = (n: number, work: () => Promise<unknown>): Promise<unknown> => Promise.all(Array.from({ length: n }, work));
    await measure('8 manifest PUTs by tag at once', () => times(8, () => putManifest(base, 'req/meta', 'again', image.manifest)));
    await measure('16 manifest GETs by tag at once', () => times(16, () => expect(200, `${base}/v2/req/meta/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT } })));
    await measure(`16 tags/list of ${o.tags + 2} tags at once`, () => times(16, () => expect(200, `${base}/v2/req/meta/tags/list`)));
    process.stdout.write(`${rows.join('\n')}\n`);
  } finally {
    agent.destroy();
    server.closeAllConnections();
    server.close();
    for (const client of driver.clients()) client.destroy();
    await s3.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`s3-requests: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
