/**
 * Paths of the garbage collector's own objects under `/_gc`: its lease, the touch and candidate
 * markers of a run, and the run records (see src/gc/protocol.ts). See layout.ts for the whole tree.
 */
import type { Algorithm, Digest } from '../../oci/digest.js';
import { digestComponents as split, type GcRunId } from './ids.js';

/** Root of the garbage collector's own objects (its lease, touch markers and run records). */
export const GC = '/_gc';

/** The GC lease: one object, rewritten by the run that holds it (see src/gc/protocol.ts). */
export function gcLease(): string {
  return `${GC}/lease`;
}

/** The folder of every run's markers. */
export function gcMarkers(): string {
  return `${GC}/markers`;
}

/** The folder of GC run `run`'s markers (touches and candidates), removed when the next run starts. */
export function gcRunMarkers(run: GcRunId): string {
  return `${GC}/markers/${run}`;
}

/** The folder of GC run `run`'s touch markers, removed when the run ends. */
export function gcRunTouched(run: GcRunId): string {
  return `${GC}/markers/${run}/touched`;
}

/** The folder of GC run `run`'s touch markers of `algorithm`; it holds one marker per digest, named by its hex. */
export function gcTouchedOf(run: GcRunId, algorithm: Algorithm): string {
  return `${GC}/markers/${run}/touched/${algorithm}`;
}

/** The touch marker of digest `d` under GC run `run`: a push used `d` while the run was active. */
export function gcTouch(run: GcRunId, d: Digest): string {
  const [alg, hex] = split(d);
  return `${GC}/markers/${run}/touched/${alg}/${hex}`;
}

/**
 * The candidate markers of GC run `run` for the digests of `algorithm` whose hex starts with `prefix`
 * (2 hex characters): one object, the hex of each digest the run's sweep may delete (or links to it),
 * one per line (see src/gc/protocol.ts).
 */
export function gcCandidates(run: GcRunId, algorithm: Algorithm, prefix: string): string {
  if (!/^[0-9a-f]{2}$/.test(prefix)) throw new Error(`invalid candidate shard "${prefix.slice(0, 20)}"`);
  return `${GC}/markers/${run}/candidates/${algorithm}/${prefix}`;
}

/** The object of GC run `run` that lists digest `d` when `d` is one of its candidates ({@link gcCandidates}). */
export function gcCandidatesOf(run: GcRunId, d: Digest): string {
  const [alg, hex] = split(d);
  return gcCandidates(run, alg as Algorithm, hex.slice(0, 2));
}

/** The folder of GC run records. */
export function gcRuns(): string {
  return `${GC}/runs`;
}

/** The record of GC run `run`. */
export function gcRun(run: GcRunId): string {
  return `${GC}/runs/${run}`;
}
