/**
 * `wharf build [-f Dockerfile] -t REF ... CONTEXT`: a thin shell over `build/` (build, then
 * outputs) and the registry client. Failures are one line (the Dockerfile's file and line when
 * there is one) and exit status 1; Ctrl-C aborts and leaves nothing partial at the outputs.
 */
import { DockerCredentials } from '../client/auth/credentials.js';
import { parseReference } from '../client/image/locations.js';
import { RegistryClient } from '../client/registry-client.js';
import { formatReference, type ImageReference } from '../oci/image-reference.js';
import { formatPlatform, parsePlatform, type Platform } from '../oci/platform.js';
import { build, DEFAULT_SPLIT_THRESHOLD, type BuildOptions } from '../build/build.js';
import { SILENT } from '../build/env.js';
import { BuildError } from '../build/errors.js';
import type { BuiltResult } from '../build/image.js';
import { defaultCacheDir } from '../build/layer-cache.js';
import { parseOutputs, writeOutputs } from '../build/output.js';
import { BuildProgress } from './build-progress.js';
import { describeError } from './client-errors.js';
import { CommandFailure, describeFailure, interruptible } from './client-common.js';
import { formatBytes } from './progress.js';

/** The options of `wharf build`, as commander gives them. */
export interface BuildCommandOptions {
  file?: string;
  tag?: string[];
  buildArg?: string[];
  platform?: string;
  target?: string;
  output?: string[];
  push?: boolean;
  splitThreshold?: string;
  verify?: boolean;
  quiet?: boolean;
  json?: boolean;
  cacheDir?: string;
  cache?: boolean;
  insecure?: boolean;
  jobs?: string;
}

/** Parses a size: bytes, or with a unit (`64MiB`, `1GiB`, `500MB`). @throws BuildError */
export function parseSize(value: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i.exec(value.trim());
  if (!m) throw new BuildError(`${option} ${value} is not a size`, { hint: 'write e.g. 64MiB, 1GiB or a number of bytes' });
  const unit = (m[2] ?? 'B').toUpperCase().replace(/B$/, '').replace('I', '');
  const factor = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[unit] ?? 1;
  return Math.round(Number(m[1]) * factor);
}

/** Runs `wharf build`. @throws BuildError | ClientError (the caller prints one line) */
export async function buildCommand(context: string, o: BuildCommandOptions): Promise<void> {
  const reference = (value: string): ImageReference => {
    try {
      return parseReference(value);
    } catch (err) {
      throw new BuildError(`-t ${value}: ${(err as Error).message}`, { cause: err });
    }
  };
  const tags = (o.tag ?? []).map(reference);
  const outputs = parseOutputs(o.output ?? ['registry']);
  const push = o.push !== false;
  if (push && outputs.some((x) => x.kind === 'registry') && tags.length === 0) {
    throw new BuildError('nothing to push to', { hint: 'give -t REGISTRY/REPOSITORY:TAG, or --push=false, or --output oci:DIR' });
  }
  const platforms: Platform[] = o.platform ? o.platform.split(',').map((p) => parsePlatform(p.trim())) : [];
  const progress = new BuildProgress(o.quiet === true || o.json === true);
  const client = new RegistryClient({ credentials: new DockerCredentials(), insecure: o.insecure ? tags.map((t) => t.registry) : [] });
  await interruptible(async (signal) => {
    try {
      const options: BuildOptions = {
        context,
        file: o.file,
        buildArgs: o.buildArg ?? [],
        platforms,
        target: o.target,
        splitThreshold: o.splitThreshold ? parseSize(o.splitThreshold, '--split-threshold') : DEFAULT_SPLIT_THRESHOLD,
        cacheDir: o.cacheDir ?? defaultCacheDir(),
        noCache: o.cache === false,
        client,
        signal,
        events: progress,
      };
      const result = await build(options);
      if (o.verify) await verify(result, await build({ ...options, noCache: true, events: SILENT }));
      const jobs = o.jobs ? Math.max(1, Number(o.jobs) || 4) : 4;
      const reports = await writeOutputs(client, result, tags, outputs, { push, signal, onTransfer: progress.transfer, jobs });
      progress.stop();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary(result, tags, reports), null, 2)}\n`);
        return;
      }
      if (!o.quiet) {
        for (const r of reports) {
          process.stderr.write(`${r.target}: ${r.blobs.uploaded} uploaded (${formatBytes(r.blobs.bytes)}), ${r.blobs.exists} already there, ${r.blobs.mounted} mounted\n`);
        }
      }
      process.stdout.write(`${result.root.digest}\n`);
    } catch (err) {
      progress.stop();
      if (signal.aborted) throw new BuildError('interrupted: nothing was left at the outputs');
      if (err instanceof BuildError) throw err;
      // a registry's or the network's failure while pushing: the client commands' one line
      const first = tags[0];
      throw new CommandFailure(await describeFailure(err, client, first ? { registry: first.registry, repository: first.repository, reference: first.tag } : {}), { cause: err });
    } finally {
      await client.close().catch(() => undefined);
    }
  });
}

/** `--verify`: the second build (cache records ignored) must give the same digests. @throws BuildError */
function verify(first: BuiltResult, second: BuiltResult): void {
  if (first.root.digest === second.root.digest) return;
  const differences: string[] = [];
  first.images.forEach((image, i) => {
    const other = second.images[i]!;
    image.layers.forEach((l, j) => {
      if (other.layers[j]?.desc.digest !== l.desc.digest) differences.push(`layer ${j + 1}: ${l.desc.digest} then ${other.layers[j]?.desc.digest}`);
    });
    if (image.config.desc.digest !== other.config.desc.digest) differences.push(`config: ${image.config.desc.digest} then ${other.config.desc.digest}`);
  });
  throw new BuildError(`--verify: two builds gave different images (${first.root.digest} then ${second.root.digest})`, {
    hint: `${differences.join('; ') || 'the manifests differ'}; a file that changes while it is read, or an ADD of a changing URL, makes builds differ`,
  });
}

function summary(result: BuiltResult, tags: ImageReference[], reports: Awaited<ReturnType<typeof writeOutputs>>) {
  return {
    digest: result.root.digest,
    mediaType: result.root.mediaType,
    tags: tags.map(formatReference),
    images: result.images.map((i) => ({
      platform: formatPlatform(i.platform as unknown as Record<string, unknown>),
      digest: i.manifest.digest,
      config: i.config.desc.digest,
      layers: i.layers.map((l) => ({ digest: l.desc.digest, size: l.desc.size, mediaType: l.desc.mediaType })),
    })),
    outputs: reports,
  };
}

/** One line for a failure of `wharf build` (a {@link BuildError} or {@link CommandFailure} is one already). */
export function describeBuildError(err: unknown): string {
  if (err instanceof BuildError || err instanceof CommandFailure) return err.message;
  return describeError(err);
}
