/**
 * The repository catalog (Docker Registry HTTP API V2 `GET /v2/_catalog`): every repository that
 * holds a manifest or a blob link, found by walking `/repositories`.
 */
import { isRepositoryName, type RepositoryName } from '../oci/reference.js';
import type { StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from './limit.js';
import { lexical } from './pagination.js';

/** How many folder listings one catalog walk keeps in flight. */
const LIST_CONCURRENCY = 16;

/** Lists repositories. */
export class Catalog {
  constructor(private readonly driver: StorageDriver) {}

  /**
   * Every repository name, in lexical order. The tree is walked one level at a time with at most
   * {@link LIST_CONCURRENCY} listings in flight, so a large catalog does not flood the storage (on
   * S3, one ListObjectsV2 per repository folder).
   */
  async repositories(): Promise<RepositoryName[]> {
    const found: RepositoryName[] = [];
    let level: (RepositoryName | undefined)[] = [undefined];
    while (level.length > 0) {
      const next: RepositoryName[] = [];
      await forEachLimit(level, LIST_CONCURRENCY, async (name) => {
        const children = await this.driver.list(name === undefined ? layout.REPOSITORIES : layout.repository(name));
        if (name !== undefined && holdsContent(children)) found.push(name);
        // a folder whose name is not a valid repository name (left by hand, or a layout folder) is skipped
        next.push(...children.map((c) => (name === undefined ? c : `${name}/${c}`)).filter(isRepositoryName));
      });
      level = next;
    }
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
