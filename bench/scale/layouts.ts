/**
 * Writing the scale bench's content straight into each registry's storage layout, much faster than
 * pushing it: Wharf's through `src/storage/layout.ts` (the module that owns its paths), CNCF
 * Distribution 2.8's as its `registry/storage/paths.go` lays it out. The two layouts cannot share one
 * copy (Distribution keeps every blob and link as a folder holding `data` or `link`, and a tag as
 * `current/link` plus an index of the revisions it pointed at), so each registry gets its own copy of
 * the same content. Synchronous writes: the bench does nothing else meanwhile, and a folder made once
 * is remembered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Digest } from '../../src/oci/digest.js';
import type { RepositoryName, Tag } from '../../src/oci/reference.js';
import * as layout from '../../src/storage/layout.js';
import type { Blob, Manifest, RepositoryContent } from './content.js';

/** Which parts of a repository's content to write: all of it, or only what a collection deletes (to restore it after a run). */
export type Part = 'all' | 'garbage';

/** A registry's storage on disk that content can be written into. */
export interface LayoutWriter {
  /** Writes `content` (or its garbage part) into the storage; files already there are overwritten. */
  write(content: RepositoryContent, part?: Part): void;
}

/** Writes files under a root, creating each folder once. */
class Files {
  readonly #made = new Set<string>();

  constructor(readonly root: string) {}

  /** Writes `data` at `path`; a folder a collection removed since it was made is made again. */
  put(path: string, data: Buffer | string): void {
    const full = join(this.root, path);
    const dir = dirname(full);
    if (!this.#made.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.#made.add(dir);
    }
    try {
      writeFileSync(full, data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(dir, { recursive: true });
      writeFileSync(full, data);
    }
  }
}

/** The parts of `content` to write. */
function select(content: RepositoryContent, part: Part): { blobs: Blob[]; manifests: Manifest[]; tags: RepositoryContent['tags'] } {
  const garbage = [...content.garbage.blobs, ...content.garbage.orphans];
  if (part === 'garbage') return { blobs: garbage, manifests: content.garbage.manifests, tags: [] };
  return { blobs: [...content.blobs, ...garbage], manifests: [...content.manifests, ...content.garbage.manifests], tags: content.tags };
}

/** Wharf's layout under `root` (its `storage.filesystem.rootdirectory`). */
export function wharfWriter(root: string): LayoutWriter {
  const files = new Files(root);
  return {
    write(content, part = 'all') {
      const name = content.name as RepositoryName;
      const { blobs, manifests, tags } = select(content, part);
      for (const b of [...blobs, ...manifests]) files.put(layout.blobData(b.digest as Digest), b.bytes);
      for (const b of blobs) files.put(layout.layerLink(name, b.digest as Digest), b.digest);
      for (const m of manifests) files.put(layout.manifestRevision(name, m.digest as Digest), JSON.stringify({ mediaType: m.mediaType }));
      for (const t of tags) {
        files.put(layout.tag(name, t.tag as Tag), JSON.stringify({ digest: t.digest, pushedAt: new Date(t.pushedAt).toISOString() }));
      }
    },
  };
}

/** `<alg>/<hex>` of a digest, as Distribution's paths use it. */
function digestPath(digest: string): string {
  return digest.replace(':', '/');
}

/** Distribution's layout under `root` (its `storage.filesystem.rootdirectory`): everything under `docker/registry/v2`. */
export function distributionWriter(root: string): LayoutWriter {
  const files = new Files(join(root, 'docker/registry/v2'));
  return {
    write(content, part = 'all') {
      const repo = `repositories/${content.name}`;
      const { blobs, manifests, tags } = select(content, part);
      for (const b of [...blobs, ...manifests]) {
        const [alg, hex] = b.digest.split(':') as [string, string];
        files.put(`blobs/${alg}/${hex.slice(0, 2)}/${hex}/data`, b.bytes);
      }
      for (const b of blobs) files.put(`${repo}/_layers/${digestPath(b.digest)}/link`, b.digest);
      for (const m of manifests) files.put(`${repo}/_manifests/revisions/${digestPath(m.digest)}/link`, m.digest);
      for (const t of tags) {
        files.put(`${repo}/_manifests/tags/${t.tag}/current/link`, t.digest);
        files.put(`${repo}/_manifests/tags/${t.tag}/index/${digestPath(t.digest)}/link`, t.digest);
      }
      // an untagged manifest was its tag's revision before the tag moved on: Distribution keeps it in the tag's index
      content.garbage.manifests.forEach((m, i) => {
        const tag = content.garbage.formerTags[i];
        if (tag !== undefined) files.put(`${repo}/_manifests/tags/${tag}/index/${digestPath(m.digest)}/link`, m.digest);
      });
    },
  };
}
