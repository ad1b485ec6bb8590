/**
 * `wharf rm REF`: `REPO:TAG` deletes that tag only (`DELETE /v2/<name>/manifests/<tag>`, Distribution
 * Spec v1.1 "Deleting tags"; the manifest and its other tags stay), as regctl's `tag delete` and
 * crane's `delete` of a tag do; `REPO@DIGEST` deletes the manifest and every tag pointing at it
 * ("Deleting Manifests"). A registry that refuses tag deletes (CNCF Distribution 2.8: 405
 * UNSUPPORTED) is a failure naming `wharf rm REPO@DIGEST`, never a silent delete of the manifest.
 */
import { RegistryClientError } from '../client/errors.js';
import type { RegistryClient } from '../client/registry-client.js';
import { formatReference, type ImageReference } from '../oci/image-reference.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';

/** Deletes REF's tag (REPO:TAG) or manifest (REPO@DIGEST). @throws CommandFailure */
export async function rm(reference: string, options: ClientOptions): Promise<void> {
  const at = location(reference);
  if (at.kind !== 'registry') throw new CommandFailure(`REF must be an image reference, not ${reference}`);
  const ref = at.ref;
  await runClientCommand(options, [ref.registry], async ({ client, reporter, signal, context }) => {
    Object.assign(context, { repository: ref.repository, reference: ref.digest ?? ref.tag });
    if (ref.digest) {
      await client.deleteManifest(ref, { signal });
      const name = formatReference({ ...ref, tag: undefined });
      reporter.done(`deleted manifest ${name} and every tag pointing at it`, { reference: name, digest: ref.digest, deleted: 'manifest' });
      return;
    }
    try {
      await client.deleteManifest(ref, { signal });
    } catch (err) {
      if (err instanceof RegistryClientError && err.status === 405) throw new CommandFailure(await tagRefused(client, ref, signal), { cause: err });
      throw err;
    }
    const name = formatReference(ref);
    reporter.done(`deleted tag ${name} (the manifest and its other tags stay)`, { reference: name, tag: ref.tag, deleted: 'tag' });
  });
}

/** The line for a registry that answered 405 to a tag's DELETE, naming the digest to delete instead when the tag resolves. */
async function tagRefused(client: RegistryClient, ref: ImageReference, signal: AbortSignal): Promise<string> {
  const digest = (await client.headManifest(ref, { signal }).catch(() => undefined))?.digest;
  const byDigest = digest ? formatReference({ ...ref, tag: undefined, digest }) : `${ref.registry}/${ref.repository}@DIGEST`;
  return `${ref.registry} does not delete tags (405 UNSUPPORTED; or deletes are disabled there), so ${ref.tag} was kept: wharf rm ${byDigest} deletes the manifest and every tag pointing at it`;
}
