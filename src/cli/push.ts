/** `wharf push SOURCE REF`: pushes a `docker save` tarball, an OCI archive or an OCI layout folder to a registry. */
import { copyImage } from '../client/image/copy.js';
import { openSource } from '../client/image/locations.js';
import { registrySink } from '../client/image/registry.js';
import { formatReference } from '../oci/image-reference.js';
import { parsePlatform } from '../oci/platform.js';
import { CommandFailure, elapsed, location, positive, registriesOf, runClientCommand, type ClientOptions } from './client-common.js';
import { formatBytes } from './progress.js';

/** Options of `wharf push`. */
export interface PushOptions extends ClientOptions {
  platform?: string;
}

/** Pushes SOURCE to REF; prints a summary (or `--json`). @throws CommandFailure */
export async function push(source: string, target: string, options: PushOptions): Promise<void> {
  const from = location(source, true);
  const to = location(target);
  if (to.kind !== 'registry') throw new CommandFailure(`REF must be an image reference (host/repository:tag), not ${target}`);
  await runClientCommand(options, registriesOf(to), async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: to.ref.repository, reference: to.ref.tag });
    const start = performance.now();
    const src = await openSource(client, from);
    try {
      const result = await copyImage(src, registrySink(client, to.ref), {
        signal,
        jobs: options.jobs ? positive(options.jobs, '--jobs') : undefined,
        platform: options.platform ? parsePlatform(options.platform) : undefined,
        onTransfer: reporter.onTransfer,
      });
      const b = result.blobs;
      reporter.done(
        `pushed ${formatReference(to.ref)}@${result.digest}: ${b.uploaded} blobs uploaded (${formatBytes(b.bytes)}), ${b.exists} already there, ${b.mounted} mounted in ${elapsed(start)}`,
        { reference: formatReference(to.ref), digest: result.digest, mediaType: result.mediaType, size: result.size, blobs: b },
      );
    } finally {
      await src.close?.();
    }
  });
}
