/** `wharf tag REF NEWTAG`: a server-side retag: the manifest's bytes are put under the new tag, no blob moves. */
import { formatReference } from '../oci/image-reference.js';
import { parseTag } from '../oci/reference.js';
import { CommandFailure, location, registriesOf, runClientCommand, type ClientOptions } from './client-common.js';

/** Tags REF's manifest as NEWTAG (a tag, or a reference in the same repository). @throws CommandFailure */
export async function tag(source: string, newTag: string, options: ClientOptions): Promise<void> {
  const from = location(source);
  if (from.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${source}`);
  let tagName = newTag;
  if (newTag.includes('/')) {
    const to = location(newTag);
    if (to.kind !== 'registry' || to.ref.registry !== from.ref.registry || to.ref.repository !== from.ref.repository || !to.ref.tag) {
      throw new CommandFailure(`NEWTAG must be a tag of ${from.ref.repository} (a server-side tag cannot change repository: use wharf copy)`);
    }
    tagName = to.ref.tag;
  }
  try {
    parseTag(tagName);
  } catch (err) {
    throw new CommandFailure((err as Error).message);
  }
  await runClientCommand(options, registriesOf(from), async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: from.ref.repository, reference: from.ref.digest ?? from.ref.tag });
    const m = await client.getManifest(from.ref, { signal });
    await client.putManifest(from.ref, tagName, m.bytes, m.mediaType, { signal });
    const target = formatReference({ ...from.ref, tag: tagName as never, digest: undefined });
    reporter.done(`tagged ${target} (${m.digest})`, { reference: target, digest: m.digest });
  });
}
