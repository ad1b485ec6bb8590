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

/** The candidate marker of digest `d` under GC run `run`: the run's sweep may delete `d` (or links to it). */
export function gcCandidate(run: GcRunId, d: Digest): string {
  const [alg, hex] = split(d);
  return `${GC}/markers/${run}/candidates/${alg}/${hex}`;
}

/** The folder of GC run records. */
export function gcRuns(): string {
  return `${GC}/runs`;
}

/** The record of GC run `run`. */
export function gcRun(run: GcRunId): string {
  return `${GC}/runs/${run}`;
}
