/**
 * The admin index's snapshot in storage (`_index/snapshot`): the whole index as of a moment, so a
 * process that starts (or restarts) answers the admin API at once, then replays the journal from that
 * moment, instead of walking the registry first. Written as a stream (never whole in memory) into a
 * draft that then replaces the snapshot atomically; read as a stream. Newline-delimited JSON:
 *
 * ```
 * {"format":"wharf-admin-index","version":1,"asOf":<ms>,"blobs":<count>,"repositories":<count>}
 * {"b":"<base64: per blob 16 bytes of key (see DigestTable) + 8 bytes size, float64 LE, -1 when not stored>"}   (4,096 blobs a line)
 * {"n":"<name>","t":<tags>,"m":<manifests>,"p":<last push, ms>,"r":"<base64: uint32 LE ordinals of its blobs, in the order above>"}
 * ```
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { isRepositoryName, type RepositoryName } from '../../oci/reference.js';
import { isNotFound, type StorageDriver } from '../../storage/driver.js';
import * as layout from '../../storage/layout.js';
import { IndexState } from './state.js';

const FORMAT = 'wharf-admin-index';
const VERSION = 1;
const BLOBS_PER_LINE = 4096;
const BLOB_BYTES = 24;

/** A snapshot's header. */
export interface SnapshotHeader {
  format: string;
  version: number;
  /** ms since the epoch: the index holds every change made before this */
  asOf: number;
  blobs: number;
  repositories: number;
}

/** The lines of the snapshot of `state` as of `asOf`. */
function* lines(state: IndexState, asOf: number): Generator<string> {
  const ordinals = new Uint32Array(state.blobs.idBound);
  const ids: number[] = [];
  state.blobs.forEachId((id) => {
    ordinals[id] = ids.length;
    ids.push(id);
  });
  const header: SnapshotHeader = { format: FORMAT, version: VERSION, asOf, blobs: ids.length, repositories: state.repositoryCount };
  yield `${JSON.stringify(header)}\n`;
  const { size, flags } = state.blobs.columns;
  for (let start = 0; start < ids.length; start += BLOBS_PER_LINE) {
    const part = ids.slice(start, start + BLOBS_PER_LINE);
    const bytes = Buffer.alloc(part.length * BLOB_BYTES);
    part.forEach((id, i) => {
      const key = state.blobs.key(id);
      for (let w = 0; w < 4; w++) bytes.writeUInt32LE(key[w]!, i * BLOB_BYTES + 4 * w);
      bytes.writeDoubleLE(flags[id] ? size[id]! : -1, i * BLOB_BYTES + 16);
    });
    yield `${JSON.stringify({ b: bytes.toString('base64') })}\n`;
  }
  for (const name of state.names()) {
    const entry = state.repository(name)!;
    const refs = Buffer.alloc(entry.refs.length * 4);
    entry.refs.forEach((id, i) => refs.writeUInt32LE(ordinals[id]!, i * 4));
    yield `${JSON.stringify({ n: name, t: entry.tags, m: entry.manifests, p: entry.lastPush, r: refs.toString('base64') })}\n`;
  }
}

/** Writes the snapshot of `state` as of `asOf` (a stream into a draft, then one atomic replace). */
export async function writeSnapshot(driver: StorageDriver, state: IndexState, asOf: number): Promise<void> {
  const draft = layout.indexSnapshotDraft(randomUUID() as layout.UploadId);
  try {
    await driver.append(draft, Readable.from(lines(state, asOf), { objectMode: false }), { offset: 0 });
    await driver.commitAppended(draft, layout.indexSnapshot(), await driver.appendedState(draft));
  } finally {
    await driver.delete(draft).catch(() => undefined);
  }
}

/**
 * Reads the snapshot into a new state.
 * @returns the state and its header, or undefined when there is no snapshot or it is not one this version reads
 */
export async function readSnapshot(driver: StorageDriver): Promise<{ state: IndexState; header: SnapshotHeader } | undefined> {
  let stream: Readable;
  try {
    stream = await driver.reader(layout.indexSnapshot());
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const state = new IndexState();
  let header: SnapshotHeader | undefined;
  const ids: number[] = [];
  const key = new Uint32Array(4);
  const input = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of input) {
      if (line === '') continue;
      const record = JSON.parse(line) as Record<string, unknown>;
      if (header === undefined) {
        header = record as unknown as SnapshotHeader;
        if (header.format !== FORMAT || header.version !== VERSION) return undefined;
      } else if (typeof record.b === 'string') {
        const bytes = Buffer.from(record.b, 'base64');
        for (let o = 0; o + BLOB_BYTES <= bytes.length; o += BLOB_BYTES) {
          for (let w = 0; w < 4; w++) key[w] = bytes.readUInt32LE(o + 4 * w);
          const size = bytes.readDoubleLE(o + 16);
          ids.push(state.restoreBlob(key, size < 0 ? undefined : size));
        }
      } else if (typeof record.n === 'string' && isRepositoryName(record.n)) {
        const refs = Buffer.from(String(record.r ?? ''), 'base64');
        const own = new Uint32Array(refs.length / 4);
        for (let i = 0; i < own.length; i++) own[i] = ids[refs.readUInt32LE(i * 4)] ?? 0;
        state.restoreRepository(record.n as RepositoryName, { tags: Number(record.t), manifests: Number(record.m), lastPush: Number(record.p), ids: own.sort() });
      }
    }
  } catch (err) {
    if (err instanceof SyntaxError) return undefined; // a snapshot cut short: walk instead
    throw err;
  } finally {
    input.close();
    stream.destroy();
  }
  return header ? { state, header } : undefined;
}
