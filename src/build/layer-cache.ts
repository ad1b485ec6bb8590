/**
 * The build's layer cache, under the user's cache folder (`$WHARF_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/wharf`, else `~/.cache/wharf`; `build/` inside): the layer blobs this machine
 * built (`blobs/sha256/<hex>`), and records mapping a layer's recipe to its digests
 * (`layers/<key>.json`). A recipe key hashes every entry's path, type, mode, owner, link target and
 * size, the build time, the layer format version, and for each file the identity of its bytes on
 * this machine (absolute path, device, inode, size, mtime and ctime in nanoseconds: a write changes
 * ctime, which no user can set back). So an unchanged 5 GiB model is recognized by a `stat`, not
 * read again; and since a layer is a pure function of its entries, a miss (another folder, another
 * machine) recomputes the same digests. A record is only a shortcut to a digest: the blob is
 * uploaded only when the registry lacks it, and rebuilt (and checked to match) when the local copy
 * is gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseDigest } from '../oci/digest.js';
import { SEGMENT_BYTES, DEFLATE_LEVEL, STORE_ENTROPY_BITS } from './gzip.js';
import { blobFile, sortEntries, writeLayer, type LayerBlob, type WriteLayerOptions } from './layer.js';
import type { LayerEntry } from './tree.js';

/** Bumped whenever a layer's bytes for the same entries would change (tar or gzip details). */
export const LAYER_FORMAT = `wharf-layer-1;gzip-fflate-0.8.3-l${DEFLATE_LEVEL}-s${SEGMENT_BYTES}-e${STORE_ENTROPY_BITS}`;

/** The default cache folder of the build helper. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WHARF_CACHE_DIR) return join(env.WHARF_CACHE_DIR, 'build');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wharf', 'build');
}

/** A layer as the cache gives it: its digests, and whether its bytes are on this machine. */
export interface CachedLayer extends LayerBlob {
  /** how it was obtained: read from a record, or built now */
  cached: boolean;
}

/** The cache; one per build. */
export class LayerCache {
  readonly blobDir: string;
  readonly #records: string;
  readonly #inFlight = new Map<string, Promise<CachedLayer>>();

  constructor(
    readonly dir: string,
    /** ignore records (still writes them) */
    private readonly useRecords = true,
  ) {
    this.blobDir = join(dir, 'blobs');
    this.#records = join(dir, 'layers');
  }

  /** The recipe key of a layer. */
  static key(entries: readonly LayerEntry[], mtime: number): string {
    const hash = createHash('sha256').update(`${LAYER_FORMAT}\n${mtime}\n`);
    for (const e of sortEntries(entries)) {
      const c = e.content;
      hash.update(JSON.stringify([e.path, e.type, e.mode, e.uid, e.gid, e.linkname ?? null, e.size, c ? [c.path, c.dev, c.ino, c.size, String(c.mtimeNs), String(c.ctimeNs)] : null]));
      hash.update('\n');
    }
    return hash.digest('hex');
  }

  /**
   * The layer of `entries`: from a record when there is one, else written now (once per build for
   * the same entries, however many platforms ask).
   */
  layer(entries: readonly LayerEntry[], o: WriteLayerOptions): Promise<CachedLayer> {
    const key = LayerCache.key(entries, o.mtime);
    let running = this.#inFlight.get(key);
    if (!running) {
      running = (async () => {
        const recorded = this.useRecords ? await this.#read(key) : undefined;
        if (recorded) return { ...recorded, cached: true };
        const blob = await writeLayer(entries, o);
        await this.#write(key, blob);
        return { ...blob, cached: false };
      })();
      running.catch(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, running);
    }
    return running;
  }

  /** True when the blob's bytes are in the cache with the right size. */
  async hasBlob(blob: LayerBlob): Promise<boolean> {
    return (await stat(blobFile(this.blobDir, blob.digest)).catch(() => undefined))?.size === blob.size;
  }

  /** Rebuilds a recorded layer whose bytes are gone; fails when it no longer gives the recorded digest. */
  async restore(entries: readonly LayerEntry[], blob: LayerBlob, o: WriteLayerOptions): Promise<void> {
    if (await this.hasBlob(blob)) return;
    const again = await writeLayer(entries, o);
    if (again.digest !== blob.digest) {
      throw new Error(`the layer recorded as ${blob.digest} now gives ${again.digest}: its files changed; build again`);
    }
  }

  async #read(key: string): Promise<LayerBlob | undefined> {
    try {
      const r = JSON.parse(await readFile(join(this.#records, `${key}.json`), 'utf8')) as LayerBlob;
      parseDigest(r.digest);
      parseDigest(r.diffId);
      return Number.isSafeInteger(r.size) ? { digest: r.digest, diffId: r.diffId, size: r.size } : undefined;
    } catch {
      return undefined;
    }
  }

  async #write(key: string, blob: LayerBlob): Promise<void> {
    await mkdir(this.#records, { recursive: true });
    const temp = join(this.#records, `.${randomBytes(6).toString('hex')}.partial`);
    await writeFile(temp, JSON.stringify(blob));
    await rename(temp, join(this.#records, `${key}.json`));
  }
}
