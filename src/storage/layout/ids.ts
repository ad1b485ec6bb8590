/**
 * The validated ids that storage paths are built from besides repository names, tags and digests:
 * upload session ids and garbage collection run ids (both lowercase UUIDs), and the split of a
 * digest into the two path components every content-addressed path uses.
 */
import type { Digest } from '../../oci/digest.js';

/** A validated upload session id (a lowercase UUID). */
export type UploadId = string & { readonly __upload: unique symbol };

/** A validated garbage collection run id (a lowercase UUID). */
export type GcRunId = string & { readonly __gcRun: unique symbol };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `value` has the shape of an upload session id. */
export function isUploadId(value: string): value is UploadId {
  return UUID.test(value);
}

/** True when `value` has the shape of a garbage collection run id. */
export function isGcRunId(value: string): value is GcRunId {
  return UUID.test(value);
}

/** A validated digest's algorithm and hex, the two path components it becomes (`sha256`, `ab12...`). */
export function digestComponents(d: Digest): [algorithm: string, hex: string] {
  const colon = d.indexOf(':');
  return [d.slice(0, colon), d.slice(colon + 1)];
}
