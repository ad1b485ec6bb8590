/**
 * `wharf rm REF`: deletes the manifest REF names (a tag is resolved to its digest first, so every
 * tag of that manifest goes with it, as in the spec's "Deleting Manifests").
 */
import { formatReference } from '../oci/image-reference.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';

/** Deletes REF's manifest. @throws CommandFailure */
export async function rm(reference: string, options: ClientOptions): Promise<void> {
  const at = location(reference);
  if (at.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${reference}`);
  await runClientCommand(options, [at.ref.registry], async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: at.ref.repository, reference: at.ref.digest ?? at.ref.tag });
    const digest = at.ref.digest ?? (await client.headManifest(at.ref, { signal }))?.digest ?? (await client.getManifest(at.ref, { signal })).digest;
    await client.deleteManifest({ ...at.ref, tag: undefined, digest }, { signal });
    reporter.done(`deleted ${formatReference({ ...at.ref, digest })}`, { reference: formatReference(at.ref), digest, deleted: true });
  });
}
