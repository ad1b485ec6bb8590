/**
 * The repository catalog (Docker Registry HTTP API V2 `GET /v2/_catalog`): every repository that
 * holds a manifest or a blob link, found by walking `/repositories`.
 */
import { isRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { lexical } from './pagination.js';

/** Lists repositories. */
export class Catalog {
  constructor(private readonly driver: StorageDriver) {}

  /** Every repository name, in lexical order. */
  async repositories(): Promise<RepositoryName[]> {
    const found: RepositoryName[] = [];
    const walk = async (name: RepositoryName | undefined): Promise<void> => {
      const children = await this.driver.list(name === undefined ? layout.REPOSITORIES : layout.repository(name));
      if (name !== undefined && holdsContent(children)) found.push(name);
      // a folder whose name is not a valid repository name (left by hand, or a layout folder) is skipped
      const nested = children.map((c) => (name === undefined ? c : `${name}/${c}`)).filter(isRepositoryName);
      await Promise.all(nested.map(walk));
    };
    await walk(undefined);
    return found.sort(lexical);
  }

  /** True when repository `name` holds a manifest or a blob link. */
  async exists(name: RepositoryName): Promise<boolean> {
    return holdsContent(await this.driver.list(layout.repository(name)));
  }
}

/** True when a repository folder's children include its manifests or blob links (not only nested repositories). */
function holdsContent(children: string[]): boolean {
  return children.includes('_manifests') || children.includes('_layers');
}
