/**
 * What a storage path holds, read back from the path: the admin index's change events name tags,
 * manifest revisions, repositories and blobs by the paths a write touched. The inverse of the path
 * builders of content.ts; see layout.ts for the whole tree.
 */
import { isDigest, type Digest } from '../../oci/digest.js';
import { isRepositoryName, type RepositoryName, type Tag } from '../../oci/reference.js';
import { BLOBS, REPOSITORIES } from './content.js';

/** What a storage path is, for the admin index's change events (see {@link classifyPath}). */
export type PathKind =
  | { kind: 'tag'; repository: RepositoryName; tag: Tag }
  | { kind: 'revision'; repository: RepositoryName; digest: Digest }
  /** a blob link, a referrer entry, or a folder of the repository that holds neither tags nor revisions */
  | { kind: 'repository-content'; repository: RepositoryName }
  /** a folder of the repository that holds tags or revisions (or the repository's own folder, and everything under it) */
  | { kind: 'repository'; repository: RepositoryName }
  | { kind: 'blob'; digest: Digest }
  /** a folder that holds blobs or repositories: anything may have changed */
  | { kind: 'all' };

const TAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * What `path` holds, as far as the admin index cares: a tag, a manifest revision, other repository
 * content, a repository (or a folder of repositories: its name prefix), a blob, or a folder of
 * blobs or repositories; undefined for anything else (uploads, the GC's and the index's own objects).
 */
export function classifyPath(path: string): PathKind | undefined {
  if (path === '/' || path === REPOSITORIES || path === BLOBS || path.startsWith(`${BLOBS}/`)) {
    const parts = path.split('/');
    const digest = `${parts[2]}:${parts[4]}`;
    if (parts.length === 5 && isDigest(digest)) return { kind: 'blob', digest };
    return parts.length >= 5 ? undefined : { kind: 'all' };
  }
  if (!path.startsWith(`${REPOSITORIES}/`)) return undefined;
  const components = path.slice(REPOSITORIES.length + 1).split('/');
  const internal = components.findIndex((c) => c.startsWith('_'));
  if (internal === -1) {
    const name = components.join('/');
    return isRepositoryName(name) ? { kind: 'repository', repository: name } : undefined;
  }
  const name = components.slice(0, internal).join('/');
  if (!isRepositoryName(name)) return undefined;
  const [area, sub, a, b] = components.slice(internal);
  if (area === '_manifests') {
    if (sub === 'tags' && a !== undefined && b === undefined && TAG_NAME.test(a)) return { kind: 'tag', repository: name, tag: a as Tag };
    const digest = `${a}:${b}`;
    if (sub === 'revisions' && isDigest(digest)) return { kind: 'revision', repository: name, digest };
    return { kind: 'repository', repository: name };
  }
  return { kind: 'repository-content', repository: name };
}
