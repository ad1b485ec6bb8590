/** `wharf digest REF`: the digest of the manifest REF names (a HEAD; a GET when the registry answers no digest). */
import { formatReference } from '../oci/image-reference.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';

/** Prints REF's manifest digest. @throws CommandFailure */
export async function digest(reference: string, options: ClientOptions): Promise<void> {
  const at = location(reference);
  if (at.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${reference}`);
  await runClientCommand(options, [at.ref.registry], async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: at.ref.repository, reference: at.ref.digest ?? at.ref.tag });
    const head = await client.headManifest(at.ref, { signal }).catch(() => undefined);
    const found = head?.digest ?? (await client.getManifest(at.ref, { signal })).digest;
    reporter.print(found, { reference: formatReference(at.ref), digest: found });
  });
}
