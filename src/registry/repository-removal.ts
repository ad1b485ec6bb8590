/**
 * Deleting a whole repository (`DELETE /admin/v1/repositories/{name}`): its tags, manifest
 * revisions, referrers and blob links. The blobs' bytes stay in the shared store, where other
 * repositories may use them; garbage collection frees the ones nothing references any more.
 * Repositories nested under the name (`team` and `team/app`) are separate repositories and stay.
 */
import type { RepositoryName } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';

/**
 * Removes repository `name`'s content. Tags go first, so a failure part way leaves untagged
 * manifests, never a tag that points nowhere; then referrers and revisions; blob links last, so no
 * remaining manifest ever names a blob the repository no longer links. A push into the repository
 * while it is being deleted may leave part of its image behind; deleting the repository again
 * removes it. The storage folder disappears with its content (empty folders are pruned or implicit).
 */
export async function removeRepository(driver: StorageDriver, name: RepositoryName): Promise<void> {
  await driver.delete(layout.tags(name));
  await driver.delete(layout.referrersRoot(name));
  await driver.delete(layout.manifests(name));
  await driver.delete(layout.layerLinks(name));
}
