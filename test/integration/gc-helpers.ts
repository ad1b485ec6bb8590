/** Helpers of the garbage collection tests: a collection with test defaults, storage listings, whole-image checks. */
import { expect } from 'vitest';
import { collectGarbage, type GcReport } from '../../src/gc/collector.js';
import { type GcOptions } from '../../src/gc/options.js';
import { DriverDecorator } from '../../src/storage/driver-decorator.js';
import type { ReadOptions, StorageDriver } from '../../src/storage/driver.js';
import { buildImage, pushBlob, pushImage, pushIndex, putManifest, raw, sha256, type BuiltImage, type Client } from './harness.js';

/** One hour in ms. */
export const HOUR = 3_600_000;

/** Runs a collection with grace 0 and a short lease settle, `options` overriding. */
export function collect(driver: StorageDriver, options: Partial<GcOptions> = {}): Promise<GcReport> {
  return collectGarbage(driver, {
    dryRun: false,
    deleteUntagged: false,
    graceMs: 0,
    uploadPurgeAgeMs: 24 * HOUR,
    retention: [],
    lease: { settleMs: 10 },
    ...options,
  });
}

/** A decorator whose listings of the blob store wait until {@link open}: a run started over it stays under way in its mark phase. */
export class GatedDriver extends DriverDecorator {
  #open!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#open = resolve));

  /** Lets the listings held so far, and every later one, through. */
  open(): void {
    this.#open();
  }

  override async list(path: string, options?: ReadOptions): Promise<string[]> {
    if (path.startsWith('/blobs')) await this.#gate;
    return super.list(path, options);
  }
}

/** Every object path in the storage, sorted. */
export async function allObjects(driver: StorageDriver, path = '/'): Promise<string[]> {
  const found: string[] = [];
  for (const name of await driver.list(path)) {
    const child = path === '/' ? `/${name}` : `${path}/${name}`;
    const info = await driver.stat(child).catch(() => undefined);
    if (info?.isDir) found.push(...(await allObjects(driver, child)));
    else if (info) found.push(child);
  }
  return found.sort();
}

/** Asserts that `digest` is served by `name` with exactly `bytes`. */
export async function expectBlob(http: Client, name: string, digest: string, bytes: Buffer): Promise<void> {
  const res = await raw(http.get(`/v2/${name}/blobs/${digest}`));
  expect(res.status, `${name}@${digest}`).toBe(200);
  expect(res.body.equals(bytes)).toBe(true);
}

/** Asserts that an image pulls whole: its manifest by digest, its config and layers. */
export async function expectImage(http: Client, name: string, image: BuiltImage): Promise<void> {
  const manifest = await raw(http.get(`/v2/${name}/manifests/${image.digest}`));
  expect(manifest.status, `${name}@${image.digest}`).toBe(200);
  expect(manifest.body.equals(image.body)).toBe(true);
  for (const blob of [image.config, ...image.layers]) await expectBlob(http, name, blob.digest, blob.bytes);
}

/** Pushes an image in `name` whose first layer is `shared` (already pushed elsewhere, pushed again here). */
export async function pushImageSharing(http: Client, name: string, tag: string, shared: { bytes: Buffer }): Promise<BuiltImage> {
  const image = buildImage({ layers: 1 });
  const layer = { digest: sha256(shared.bytes), size: shared.bytes.length, bytes: shared.bytes };
  const manifest = JSON.parse(image.body.toString('utf8')) as { layers: { digest: string; size: number }[] };
  manifest.layers = [{ ...manifest.layers[0]!, digest: layer.digest, size: layer.size }];
  const body = Buffer.from(JSON.stringify(manifest));
  for (const blob of [image.config, layer]) await pushBlob(http, name, blob.bytes);
  const res = await putManifest(http, name, tag, body);
  expect(res.status, res.text).toBe(201);
  return { ...image, body, digest: sha256(body), layers: [layer], descriptor: { ...image.descriptor, digest: sha256(body), size: body.length } };
}


/**
 * Seeds a mix for a collection with `deleteUntagged`: the two-platform index `multi:v1`, then untagged by
 * a DELETE (it and its children collectable), `repo:keep` (kept), an untagged image and a lone blob in `repo`.
 */
export async function seedCollectable(http: Client): Promise<void> {
  await pushIndex(http, 'multi', 'v1', 2);
  await pushImage(http, 'repo', 'keep');
  await pushImage(http, 'repo', undefined);
  await pushBlob(http, 'repo');
  expect((await http.delete('/v2/multi/manifests/v1')).status).toBe(202);
}
