/**
 * `wharf pull REF DEST`: pulls an image to an OCI layout folder (default), an OCI archive, or a
 * tarball `docker load` reads (`--format docker-archive`, the default for a DEST ending in `.tar`).
 * Written under a temporary name and renamed at the end: nothing partial is left at DEST.
 */
import { arch } from 'node:os';
import { copyImage } from '../client/image/copy.js';
import { openSink, type ImageLocation } from '../client/image/locations.js';
import { registrySource } from '../client/image/registry.js';
import { formatReference } from '../oci/image-reference.js';
import { parsePlatform, type Platform } from '../oci/platform.js';
import { CommandFailure, elapsed, location, positive, registriesOf, runClientCommand, type ClientOptions } from './client-common.js';
import { formatBytes, platformWarning } from './progress.js';

/** Options of `wharf pull`. */
export interface PullOptions extends ClientOptions {
  format?: string;
  platform?: string;
}

const FORMATS = ['oci', 'oci-archive', 'docker-archive'] as const;

/** Pulls REF to DEST. @throws CommandFailure */
export async function pull(source: string, dest: string, options: PullOptions): Promise<void> {
  const from = location(source);
  if (from.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${source}`);
  const to = destination(dest, options.format);
  const platform = options.platform ? parsePlatform(options.platform) : to.kind === 'docker-archive' ? hostPlatform() : undefined;
  await runClientCommand(options, registriesOf(from), async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: from.ref.repository, reference: from.ref.digest ?? from.ref.tag });
    const start = performance.now();
    const name = to.kind === 'docker-archive' ? formatReference({ ...from.ref, digest: undefined }) : from.ref.tag;
    const result = await copyImage(registrySource(client, from.ref), await openSink(client, to, name), {
      signal,
      platform,
      jobs: options.jobs ? positive(options.jobs, '--jobs') : undefined,
      onTransfer: reporter.onTransfer,
    });
    const warning = options.platform ? platformWarning(formatReference(from.ref), result) : undefined;
    if (warning) reporter.warn(warning);
    reporter.done(`pulled ${formatReference(from.ref)}@${result.digest} to ${to.kind}:${'path' in to ? to.path : ''} (${result.blobs.uploaded} blobs, ${formatBytes(result.blobs.bytes)}) in ${elapsed(start)}`, {
      reference: formatReference(from.ref),
      digest: result.digest,
      mediaType: result.mediaType,
      destination: dest,
      format: to.kind,
      blobs: result.blobs,
      ...(warning ? { warnings: [warning] } : {}),
    });
  });
}

function destination(dest: string, format: string | undefined): ImageLocation & { kind: 'oci' | 'oci-archive' | 'docker-archive' } {
  const parsed = location(dest, true);
  if (parsed.kind === 'registry') throw new CommandFailure(`DEST must be a path, not ${dest}`);
  if (parsed.kind !== 'path') return parsed as ImageLocation & { kind: 'oci' | 'oci-archive' | 'docker-archive' };
  if (format !== undefined && !(FORMATS as readonly string[]).includes(format)) {
    throw new CommandFailure(`--format must be one of ${FORMATS.join(', ')}, not "${format}"`);
  }
  const kind = (format ?? (/\.tar$/.test(dest) ? 'docker-archive' : 'oci')) as (typeof FORMATS)[number];
  return { kind, path: dest };
}

/** The platform of this machine (`linux/amd64`), which a docker-archive of an index defaults to. */
function hostPlatform(): Platform {
  const a = arch();
  const architecture = a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
  return { os: 'linux', architecture };
}
