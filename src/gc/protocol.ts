/**
 * The storage vocabulary of Wharf's online garbage collection, shared by the collector (`src/gc/`)
 * and the guard that pushes and pulls go through (`src/registry/gc-guard.ts`). Nothing here lives
 * in process memory: several Wharf processes (and `wharf gc`) may share one storage.
 *
 * The protocol, in short (docs/garbage-collection.md says it in plain words):
 *
 * 1. A run writes the lease `/_gc/lease` = {runId, owner, phase: "mark", expiresAt} (see lease.ts for
 *    how one run at a time is ensured without compare-and-swap), marks, writes its candidate markers,
 *    then rewrites the lease with phase "sweep" BEFORE its first delete, and with phase "done" when it ends. The lease object is
 *    never deleted, so a run that started and ended between two reads is seen as a change of runId.
 * 2. Every operation that makes a client rely on a digest (upload commit, mount, blob HEAD/GET,
 *    manifest PUT) reads the lease before it starts (L0: any read that ended before it started will
 *    do, see src/registry/lease-reads.ts) and after its writes (L2: a read issued after them). Same run id
 *    and no active run in either read: no GC overlapped, done (a run that starts later marks from
 *    a state that includes the write).
 * 3. Otherwise, if a run is active at L2, the operation writes a touch marker
 *    `/_gc/markers/<runId>/touched/<alg>/<hex>` for every digest it relies on, and reads the lease
 *    again (L3). Still "mark" of that run: the touches were written before the run wrote "sweep", so
 *    the sweep, which lists the run's touch markers when it begins (and again at most every 250 ms
 *    while it deletes, checking each candidate against the listing right before deleting it), keeps
 *    it (and everything a kept manifest references).
 *    Already "sweep": the run wrote a candidate marker (a line of `/_gc/markers/<runId>/candidates/<alg>/<hex[0:2]>`)
 *    for every digest it may delete before it wrote "sweep"; if none of the operation's digests is a
 *    candidate, the run deletes none of them. Otherwise the sweep may have passed a candidate before
 *    the touch landed, so the operation waits until the run ends (the lease's phase is "done",
 *    another run took it, or it expired).
 * 4. Whenever a run may have deleted something during the operation (a run overlapped its start, or
 *    it had to wait), it finally checks that everything it relies on still exists; if not, it undoes
 *    its writes and fails cleanly: a manifest PUT answers MANIFEST_BLOB_UNKNOWN, a HEAD answers 404
 *    so the client uploads again, a mount falls back to an upload session.
 *
 * 5. Between runs, the grace period covers what clients were just told exists: a blob HEAD/GET that
 *    answers 200 re-writes the repository's blob link when it is older than a quarter of `gc.grace`
 *    (src/registry/blobs.ts), and a mount writes a link; a run treats a blob as young when its
 *    bytes or any of its links are younger than the grace period (mark.ts).
 *
 * So a manifest PUT that succeeded never points at a swept blob: either no run overlapped it (and
 * any later run marks from its tag or its revision), or its digests were touched before that run's
 * sweep began, or they are not among that run's candidates, or it checked them after the run ended.
 */
import type { Digest } from '../oci/digest.js';
import { ALGORITHMS, isDigest } from '../oci/digest.js';
import { contentIfExists, type StorageDriver } from '../storage/driver.js';
import * as layout from '../storage/layout.js';
import { forEachLimit } from '../registry/limit.js';

/** Where a run is: marking (nothing deleted yet), sweeping (deleting), or finished. */
export type GcPhase = 'mark' | 'sweep' | 'done';

/** The lease object `/_gc/lease`, as JSON. */
export interface GcLeaseRecord {
  runId: layout.GcRunId;
  /** a random id of the holder; a holder that reads another owner has lost the lease */
  owner: string;
  phase: GcPhase;
  /** ms since the epoch, by the holder's clock; the holder renews it while it runs */
  expiresAt: number;
  /** ISO 8601 */
  startedAt: string;
}

/**
 * How far apart the clocks of processes sharing a storage may be, in ms: a lease counts as active
 * for this long after its expiry, and its holder stops deleting this long before it.
 */
export const CLOCK_SKEW_MS = 5_000;

/**
 * The current lease, or undefined when no run ever took it (or the object is unreadable, which
 * only a hand edit can cause: writes are atomic).
 * @throws what the driver throws, except a missing object
 */
export async function readLease(driver: StorageDriver): Promise<GcLeaseRecord | undefined> {
  const raw = await contentIfExists(driver, layout.gcLease());
  if (raw === undefined) return undefined;
  try {
    const lease = JSON.parse(raw.toString('utf8')) as GcLeaseRecord;
    return layout.isGcRunId(lease.runId) && typeof lease.expiresAt === 'number' ? lease : undefined;
  } catch {
    return undefined;
  }
}

/** True when `lease` belongs to a run that may still mark or delete (not done, not expired beyond the clock skew). */
export function isActive(lease: GcLeaseRecord | undefined, nowMs: number): boolean {
  return lease !== undefined && lease.phase !== 'done' && nowMs <= lease.expiresAt + CLOCK_SKEW_MS;
}

/** Writes a touch marker of run `runId` for each of `digests` (idempotent). */
export async function writeTouches(driver: StorageDriver, runId: layout.GcRunId, digests: Iterable<Digest>): Promise<void> {
  await Promise.all([...new Set(digests)].map((d) => driver.putContent(layout.gcTouch(runId, d), '')));
}

/** `digests` by the object of run `runId` that lists them (layout.gcCandidatesOf), each group's hex sorted and distinct. */
function byCandidateShard(runId: layout.GcRunId, digests: Iterable<Digest>): Map<string, string[]> {
  const shards = new Map<string, Set<string>>();
  for (const d of digests) {
    const path = layout.gcCandidatesOf(runId, d);
    const hex = d.slice(d.indexOf(':') + 1);
    const group = shards.get(path);
    if (group) group.add(hex);
    else shards.set(path, new Set([hex]));
  }
  return new Map([...shards].map(([path, hexes]) => [path, [...hexes].sort()]));
}

/**
 * Writes run `runId`'s candidate markers: the digests its sweep may delete (a blob, a manifest, links
 * to them), in one object per algorithm and first two hex characters (at most 256 per algorithm,
 * however many candidates: a marker per digest was 300,000 files to write, and to delete at the next
 * run's start, on a registry of 100,000 repositories).
 */
export async function writeCandidates(driver: StorageDriver, runId: layout.GcRunId, digests: readonly Digest[]): Promise<void> {
  await forEachLimit([...byCandidateShard(runId, digests)], 16, ([path, hexes]) => driver.putContent(path, `${hexes.join('\n')}\n`));
}

/** True when run `runId`'s sweep may delete one of `digests` (one read per candidate object they fall in). */
export async function anyCandidate(driver: StorageDriver, runId: layout.GcRunId, digests: readonly Digest[]): Promise<boolean> {
  const found = await Promise.all(
    [...byCandidateShard(runId, digests)].map(async ([path, hexes]) => {
      const listed = (await contentIfExists(driver, path))?.toString('latin1');
      // every line of one object is a hex of one length, the length of `hexes`: a match is a whole line
      return listed !== undefined && hexes.some((hex) => listed.includes(`${hex}\n`));
    }),
  );
  return found.includes(true);
}

/** Every digest touched under run `runId` so far. */
export async function touchedDigests(driver: StorageDriver, runId: layout.GcRunId): Promise<Set<Digest>> {
  const found = new Set<Digest>();
  for (const algorithm of ALGORITHMS) {
    for (const hex of await driver.list(layout.gcTouchedOf(runId, algorithm))) {
      const d = `${algorithm}:${hex}`;
      if (isDigest(d)) found.add(d);
    }
  }
  return found;
}
