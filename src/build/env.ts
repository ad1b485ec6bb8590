/**
 * What the instructions of a build share: the registry client, the build context, the layer cache,
 * the build time, and the way to another stage's or an image's files (for `COPY --from`), plus the
 * progress events a terminal shows.
 */
import type { RegistryClient } from '../client/registry-client.js';
import type { Digest } from '../oci/digest.js';
import type { Platform } from '../oci/platform.js';
import type { SourceLocation } from './errors.js';
import type { LayerCache } from './layer-cache.js';
import type { SourceTree } from './tree.js';

/** Progress of a build, for a terminal or `--json`. */
export interface BuildEvents {
  /** a stage starts (`[2/3] FROM busybox AS build` for linux/amd64) */
  stage(text: string): void;
  /** a layer starts being hashed and compressed; returns its id for the calls below */
  layerStarted(label: string, bytes: number): number;
  /** uncompressed bytes of layer `id` done */
  layerProgress(id: number, bytes: number): void;
  /** layer `id` is known: read from the cache record, or built now */
  layerDone(id: number, digest: Digest, cached: boolean): void;
  /** a warning (an unused --build-arg) */
  warn(text: string): void;
}

/** Events that go nowhere. */
export const SILENT: BuildEvents = {
  stage: () => undefined,
  layerStarted: () => 0,
  layerProgress: () => undefined,
  layerDone: () => undefined,
  warn: () => undefined,
};

/** The shared state of one build. */
export interface BuildEnv {
  client: RegistryClient;
  context: SourceTree;
  cache: LayerCache;
  /** a folder for unpacked trees and downloads, removed when the build ends */
  scratchDir: string;
  /** seconds since the epoch: every mtime and `created` (SOURCE_DATE_EPOCH, else 0) */
  epoch: number;
  /** files above this many bytes get a layer of their own */
  splitThreshold: number;
  signal?: AbortSignal;
  events: BuildEvents;
  /**
   * The files of `COPY --from=<from>`: an earlier stage (by name or index) or an image, for `platform`.
   * @throws BuildError at `at` when it names a later stage or an image that does not resolve
   */
  treeOf(from: string, platform: Platform, at: SourceLocation): Promise<SourceTree>;
}
