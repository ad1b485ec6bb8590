/**
 * The repository catalog (Docker Registry HTTP API V2 `GET /v2/_catalog`): every repository that
 * holds a manifest or a blob link, found by walking `/repositories`.
 */
import { parseRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { lexical } from './pagination.js';

/** Lists repositories. */
export class Catalog {
  constructor(private readonly driver: StorageDriver) {}

  /** Every repository name, in lexical order. */
  async repositories(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (prefix: string[]): Promise<void> => {
      const children = await this.driver.list(prefix.length === 0 ? layout.REPOSITORIES : layout.repository(join(prefix)));
      if (prefix.length > 0 && children.some((c) => c === '_manifests' || c === '_layers')) found.push(prefix.join('/'));
      const nested = children.filter((c) => !layout.REPOSITORY_INTERNALS.has(c) && /^[a-z0-9]/.test(c));
      await Promise.all(nested.map((c) => walk([...prefix, c])));
    };
    await walk([]);
    return found.sort(lexical);
  }

  /** True when repository `name` holds a manifest or a blob link. */
  async exists(name: RepositoryName): Promise<boolean> {
    const children = await this.driver.list(layout.repository(name));
    return children.includes('_manifests') || children.includes('_layers');
  }
}

function join(components: string[]): RepositoryName {
  return parseRepositoryName(components.join('/'));
}
