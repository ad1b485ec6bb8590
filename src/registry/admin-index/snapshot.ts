/**
 * The admin index's snapshot in storage (`_index/snapshot`): the whole index as of a moment, so a
 * process that starts (or restarts) answers the admin API at once, then replays the journal from that
 * moment, instead of walking the registry first. Written as a stream into a draft that then replaces
 * the snapshot atomically; read as a stream, straight into the index's arrays (10,000 repositories,
 * 240,000 blobs: 9 MB, read in well under a second), never whole in memory.
 *
 * Two parts, so that a process answers the list of repositories and the storage totals before the
 * whole index is read: first the **rows** (each repository's figures as the admin API shows them,
 * bytes included, about 50 bytes a repository), then the **references** (the blob table and each
 * repository's blob ids, 29 bytes a blob and 4 a reference: what changes are applied to and bytes
 * are computed again from). {@link readSnapshot} hands the rows over as soon as they are read.
 *
 * One JSON line, then binary sections in the machine's byte order (named in the header; a snapshot of
 * another order is not read):
 *
 * ```
 * {"format":"wharf-admin-index","version":3,"endian":"LE","asOf":<ms>,"high":<ids>,"free":<count>,"blobs":<count>,"stored":{"count":<blobs>,"bytes":<bytes>},"repositories":<count>,"rowsBytes":<bytes>}
 * rows     rowsBytes bytes: per repository, in name order: uint16 name length, name (UTF-8), uint32
 *          tags, uint32 manifests, float64 last push (ms), float64 unique bytes, float64 shared bytes
 * keys     high x 4 uint32     per blob id, the first 128 bits of its digest (see DigestTable)
 * size     high x float64      bytes stored
 * holders  high x uint32       how many repositories reference it
 * flags    high x uint8        1: stored
 * free     free x uint32       the ids below high not in use
 * then batches of repositories, in name order: uint32 byte length (of what follows), uint32
 *   repositories, uint32 ids, the repositories' blob ids (uint32, each repository's sorted, in the
 *   batch's order), then per repository: uint16 name length, name (UTF-8), uint32 tags, uint32
 *   manifests, float64 last push (ms), uint32 how many of the ids are its
 * a batch of length 0 ends the snapshot (a snapshot cut short is not read)
 * ```
 *
 * Version 2 (written before the rows part existed: the same without `rows`, `stored` and
 * `rowsBytes`) is still read, whole before the first answer.
 */
import { randomUUID } from 'node:crypto';
import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import { isRepositoryName, type RepositoryName } from '../../oci/reference.js';
import { type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';
import { ExactReader } from './exact-reader.js';
import { IndexState } from './state.js';

const FORMAT = 'wharf-admin-index';
const VERSION = 3;
/** the version before the rows part, still read */
const VERSION_WITHOUT_ROWS = 2;
/** bytes of a row after its name */
const ROW_FIXED = 2 + 4 + 4 + 8 + 8 + 8;
const HEADER_MAX = 4096;
/** about how many bytes of blob ids a batch of repositories holds (then the next batch starts) */
const BATCH_BYTES = 256 * 1024;

/** A snapshot's header. */
export interface SnapshotHeader {
  format: string;
  version: number;
  endian: 'LE' | 'BE';
  /** ms since the epoch: the index holds every change made before this */
  asOf: number;
  /** blob ids are below this */
  high: number;
  /** how many ids below `high` are not in use */
  free: number;
  blobs: number;
  /** the stored blobs and their bytes (version 3) */
  stored?: { count: number; bytes: number };
  repositories: number;
  /** bytes of the rows part (version 3) */
  rowsBytes?: number;
}

/** The bytes of a typed array, as a view. */
function bytesOf(array: Uint32Array | Float64Array | Uint8Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

/** The snapshot's pieces, from an image of the state taken at once (so changes meanwhile cannot tear it). */
function* pieces(state: IndexState, asOf: number): Generator<Buffer> {
  const blobs = state.blobs.image();
  const repositories = state.repositoriesImage();
  const rows = rowsOf(repositories);
  const header: SnapshotHeader = {
    format: FORMAT,
    version: VERSION,
    endian: endianness(),
    asOf,
    high: blobs.high,
    free: blobs.free.length,
    blobs: blobs.high - blobs.free.length,
    stored: state.stored,
    repositories: repositories.length,
    rowsBytes: rows.length,
  };
  yield Buffer.from(`${JSON.stringify(header)}\n`, 'utf8');
  yield rows;
  const { size, holders, flags } = blobs.columns;
  for (const array of [blobs.keys, size, holders, flags, blobs.free]) yield bytesOf(array);
  for (let start = 0; start < repositories.length; ) {
    let end = start;
    let ids = 0;
    while (end < repositories.length && (end === start || ids * 4 < BATCH_BYTES)) ids += repositories[end++]!.refs.length;
    const records = repositories.slice(start, end).map((r) => {
      const name = Buffer.from(r.name, 'utf8');
      const record = Buffer.alloc(2 + name.length + 20);
      record.writeUInt16LE(name.length, 0);
      name.copy(record, 2);
      record.writeUInt32LE(r.tags, 2 + name.length);
      record.writeUInt32LE(r.manifests, 6 + name.length);
      record.writeDoubleLE(r.lastPush, 10 + name.length);
      record.writeUInt32LE(r.refs.length, 18 + name.length);
      return record;
    });
    const head = Buffer.alloc(12);
    head.writeUInt32LE(8 + ids * 4 + records.reduce((sum, r) => sum + r.length, 0), 0);
    head.writeUInt32LE(end - start, 4);
    head.writeUInt32LE(ids, 8);
    yield Buffer.concat([head, ...repositories.slice(start, end).map((r) => bytesOf(r.refs)), ...records]);
    start = end;
  }
  yield Buffer.alloc(4); // the end
}

/** The rows part (see the module comment). */
function rowsOf(repositories: ReturnType<IndexState['repositoriesImage']>): Buffer {
  const names = repositories.map((r) => Buffer.from(r.name, 'utf8'));
  const out = Buffer.alloc(names.reduce((sum, n) => sum + n.length + ROW_FIXED, 0));
  let o = 0;
  repositories.forEach((r, i) => {
    const name = names[i]!;
    o = out.writeUInt16LE(name.length, o);
    o += name.copy(out, o);
    o = out.writeUInt32LE(r.tags, o);
    o = out.writeUInt32LE(r.manifests, o);
    o = out.writeDoubleLE(r.lastPush, o);
    o = out.writeDoubleLE(r.bytes.unique, o);
    o = out.writeDoubleLE(r.bytes.shared, o);
  });
  return out;
}

/**
 * Reads the rows part into a state that holds the repositories' figures alone (no blob table, no
 * references): enough for the list of repositories and the storage totals.
 * @returns undefined when it is malformed
 */
function readRows(rows: Buffer, header: SnapshotHeader): IndexState | undefined {
  const state = new IndexState();
  const names: RepositoryName[] = [];
  let o = 0;
  while (o < rows.length) {
    if (o + 2 > rows.length) return undefined;
    const length = rows.readUInt16LE(o);
    if (o + length + ROW_FIXED > rows.length) return undefined;
    const name = rows.toString('utf8', o + 2, o + 2 + length);
    if (!isRepositoryName(name)) return undefined;
    o += 2 + length;
    const unique = rows.readDoubleLE(o + 16);
    const shared = rows.readDoubleLE(o + 24);
    state.restoreRow(name, { tags: rows.readUInt32LE(o), manifests: rows.readUInt32LE(o + 4), lastPush: rows.readDoubleLE(o + 8), bytes: { unique, shared, total: unique + shared } });
    names.push(name);
    o += ROW_FIXED - 2;
  }
  if (names.length !== header.repositories) return undefined;
  state.restoreNames(names);
  state.restoreStored(header.stored?.count ?? 0, header.stored?.bytes ?? 0);
  return state;
}

/** Writes the snapshot of `state` as of `asOf` (a stream into a draft, then one atomic replace). */
export async function writeSnapshot(driver: StorageDriver, state: IndexState, asOf: number): Promise<void> {
  const draft = layout.indexSnapshotDraft(randomUUID() as layout.UploadId);
  try {
    await driver.append(draft, Readable.from(pieces(state, asOf), { objectMode: false }), { offset: 0 });
    await driver.commitAppended(draft, layout.indexSnapshot(), await driver.appendedState(draft));
  } finally {
    await driver.delete(draft).catch(() => undefined);
  }
}

/**
 * Reads one batch of repositories into `state`: their blob ids stay views of the batch's own array
 * (no copy, no allocation per repository).
 * @param batch the batch after its length, at a byte offset that is a multiple of 4
 * @returns false when the batch is malformed
 */
function readBatch(batch: Buffer, state: IndexState, high: number, names: RepositoryName[]): boolean {
  if (batch.length < 8) return false;
  const count = batch.readUInt32LE(0);
  const idCount = batch.readUInt32LE(4);
  if (8 + idCount * 4 > batch.length) return false;
  const ids = new Uint32Array(batch.buffer, batch.byteOffset + 8, idCount);
  let o = 8 + idCount * 4;
  let next = 0;
  for (let i = 0; i < count; i++) {
    if (o + 2 > batch.length) return false;
    const nameLength = batch.readUInt16LE(o);
    if (o + 2 + nameLength + 20 > batch.length) return false;
    const name = batch.toString('utf8', o + 2, o + 2 + nameLength);
    o += 2 + nameLength;
    const refs = batch.readUInt32LE(o + 16);
    if (next + refs > idCount || !isRepositoryName(name)) return false;
    const own = ids.subarray(next, next + refs);
    next += refs;
    if (refs > 0 && own[refs - 1]! >= high) return false;
    names.push(name);
    state.restoreRepository(name, { tags: batch.readUInt32LE(o), manifests: batch.readUInt32LE(o + 4), lastPush: batch.readDoubleLE(o + 8), ids: own });
    o += 20;
  }
  return o === batch.length && next === idCount;
}

/**
 * Reads the snapshot into a new state.
 * @param onRows called once the rows part is read (version 3), with a state holding the
 *   repositories' figures alone (see {@link readRows}), before the rest is read
 * @returns the state and its header, or undefined when there is no snapshot, it is cut short or
 *   malformed, or it is not one this version (and byte order) reads
 */
export async function readSnapshot(driver: StorageDriver, onRows?: (rows: IndexState, header: SnapshotHeader) => void): Promise<{ state: IndexState; header: SnapshotHeader } | undefined> {
  let stream: Readable;
  try {
    stream = await driver.reader(layout.indexSnapshot());
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const input = new ExactReader(stream);
    const line = await input.line(HEADER_MAX);
    if (line === undefined) return undefined;
    let header: SnapshotHeader;
    try {
      header = JSON.parse(line) as SnapshotHeader;
    } catch {
      return undefined;
    }
    if (header.format !== FORMAT || (header.version !== VERSION && header.version !== VERSION_WITHOUT_ROWS) || header.endian !== endianness()) return undefined;
    const { high } = header;
    if (!Number.isSafeInteger(high) || high < 0 || !Number.isSafeInteger(header.free) || header.free < 0 || header.free > high) return undefined;
    if (header.version === VERSION) {
      const { rowsBytes } = header;
      if (!Number.isSafeInteger(rowsBytes) || rowsBytes! < 0) return undefined;
      const rows = Buffer.alloc(rowsBytes!);
      if (!(await input.fill(rows))) return undefined;
      const figures = readRows(rows, header);
      if (!figures) return undefined;
      onRows?.(figures, header);
    }
    const state = new IndexState();
    const { keys, columns } = state.blobs.restoreStart(high);
    const free = new Uint32Array(header.free);
    for (const array of [keys, columns.size, columns.holders, columns.flags, free]) if (!(await input.fill(bytesOf(array)))) return undefined;
    state.blobs.restoreFinish(free);
    state.recountStored();
    const length = Buffer.alloc(4);
    const names: RepositoryName[] = [];
    for (;;) {
      if (!(await input.fill(length))) return undefined;
      const bytes = length.readUInt32LE(0);
      if (bytes === 0) break;
      const batch = Buffer.alloc(bytes);
      if (!(await input.fill(batch)) || !readBatch(batch, state, high, names)) return undefined;
    }
    state.restoreNames(names);
    return { state, header };
  } catch (err) {
    if (err instanceof RangeError) return undefined; // a malformed snapshot: walk instead
    throw err;
  } finally {
    stream.destroy();
  }
}
