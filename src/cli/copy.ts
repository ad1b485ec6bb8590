/**
 * `wharf copy SRC DST`: copies an image (a whole index by default) between registries or to/from
 * `oci:`/`oci-archive:`/`docker-archive:` locations; `--platform` one image, `--referrers` with its
 * signatures and SBOMs, `--all-tags` every tag of a repository, `--jobs` blobs at once.
 */
import { copyImage, type CopyResult } from '../client/image/copy.js';
import { openSink, openSource, type ImageLocation } from '../client/image/locations.js';
import { listTags } from '../client/listings.js';
import { formatReference } from '../oci/image-reference.js';
import { parsePlatform } from '../oci/platform.js';
import { CommandFailure, elapsed, location, positive, registriesOf, runClientCommand, type ClientOptions } from './client-common.js';
import { formatBlobCounts, platformWarning } from './progress.js';

/** Options of `wharf copy`. */
export interface CopyCommandOptions extends ClientOptions {
  platform?: string;
  referrers?: boolean;
  allTags?: boolean;
}

/** Copies SRC to DST. @throws CommandFailure */
export async function copy(source: string, dest: string, options: CopyCommandOptions): Promise<void> {
  const from = location(source);
  const to = location(dest);
  if (options.allTags && (from.kind !== 'registry' || to.kind !== 'registry')) throw new CommandFailure('--all-tags copies between registries: give two repositories');
  await runClientCommand(options, registriesOf(from, to), async ({ client, reporter, signal, context }) => {
    if (from.kind === 'registry') Object.assign(context, { registry: from.ref.registry, repository: from.ref.repository, reference: from.ref.digest ?? from.ref.tag });
    const start = performance.now();
    const copyOne = async (src: ImageLocation, dst: ImageLocation): Promise<CopyResult> => {
      const source = await openSource(client, src);
      try {
        return await copyImage(source, await openSink(client, dst, src.kind === 'registry' ? src.ref.tag : undefined), {
          signal,
          platform: options.platform ? parsePlatform(options.platform) : undefined,
          referrers: options.referrers,
          jobs: options.jobs ? positive(options.jobs, '--jobs') : undefined,
          onTransfer: reporter.onTransfer,
        });
      } finally {
        await source.close?.();
      }
    };
    const results: { tag?: string; result: CopyResult }[] = [];
    const name = (l: ImageLocation) => (l.kind === 'registry' ? formatReference(l.ref) : `${l.kind}:${l.path}`);
    if (options.allTags && from.kind === 'registry' && to.kind === 'registry') {
      for (const t of await listTags(client, from.ref, { signal })) {
        results.push({ tag: t, result: await copyOne({ kind: 'registry', ref: { ...from.ref, tag: t as never, digest: undefined } }, { kind: 'registry', ref: { ...to.ref, tag: t as never, digest: undefined } }) });
      }
    } else results.push({ result: await copyOne(from, to) });
    const warnings = options.platform ? results.flatMap(({ tag, result }) => platformWarning(tag && from.kind === 'registry' ? formatReference({ ...from.ref, tag: tag as never, digest: undefined }) : name(from), result) ?? []) : [];
    for (const w of warnings) reporter.warn(w);
    const blobs = { uploaded: 0, exists: 0, mounted: 0, bytes: 0 };
    for (const { result } of results) for (const k of Object.keys(blobs) as (keyof typeof blobs)[]) blobs[k] += result.blobs[k];
    const referrers = results.reduce((n, r) => n + r.result.referrers, 0);
    reporter.done(
      `copied ${name(from)} to ${name(to)}${results.length > 1 ? ` (${results.length} tags)` : `@${results[0]?.result.digest ?? ''}`}: ${formatBlobCounts(blobs, 'transferred')}${referrers ? `, ${referrers} referrers` : ''} in ${elapsed(start)}`,
      { source: name(from), destination: name(to), images: results.map((r) => ({ tag: r.tag, digest: r.result.digest, mediaType: r.result.mediaType, blobs: r.result.blobs, referrers: r.result.referrers })), ...(warnings.length ? { warnings } : {}) },
    );
  });
}
