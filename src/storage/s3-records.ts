/**
 * The objects of a chunked object's folder on S3 (see s3-chunked.ts) and what their names say: one
 * record per append, `<start, 16 digits>-<end, 16 digits>-<uuid>[-<upload tag>-<first part>-<last part>-<etag sum>]`
 * whose body is the append's tail, and one `upload-<tag>` object per multipart upload (its key and
 * UploadId as JSON); the chain of records from offset 0, and where it stands.
 */
import { createHash } from 'node:crypto';
import type { Piece } from './multipart-plan.js';

/** A record: an append's bytes `[start, end)`, of which the last `tail` are its body; its parts, if any. */
export interface Record {
  name: string;
  start: number;
  end: number;
  tail: number;
  parts?: { tag: string; first: number; last: number; etags: string };
}

const RECORD = /^(\d{16})-(\d{16})-([0-9a-f-]{36})(?:-([0-9a-f]{8})-(\d+)-(\d+)-([0-9a-f]{8}))?$/;
const UPLOAD = /^upload-([0-9a-f]{8})$/;

/** True for the name of a chunked object's own record or upload object (never a pointer). */
export function isChunkedObjectPart(name: string): boolean {
  return RECORD.test(name) || UPLOAD.test(name);
}

/** True for the name of a session's `upload-<tag>` object. */
export function isUploadObject(name: string): boolean {
  return UPLOAD.test(name);
}

/** The multipart upload an `upload-<tag>` object's body (JSON) names: the key it completes into and its UploadId. */
export function readUploadObject(body: string): { key: string; uploadId: string } {
  return JSON.parse(body) as { key: string; uploadId: string };
}

/** An offset as a record name writes it (16 digits, so names sort by offset). */
export const pad = (n: number): string => String(n).padStart(16, '0');
/** A short hash (8 hex digits) of `text`: upload tags and the ETags a record names. */
export const hash8 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8);

/** The record named `name` whose body holds `size` bytes, or undefined when `name` is not a record's. */
export function parseRecord(name: string, size: number): Record | undefined {
  const m = RECORD.exec(name);
  if (!m) return undefined;
  const parts = m[4] ? { tag: m[4], first: Number(m[5]), last: Number(m[6]), etags: m[7]! } : undefined;
  return { name, start: Number(m[1]), end: Number(m[2]), tail: size, parts };
}

/** The tag of an `upload-<tag>` object's name, or undefined. */
export function uploadTag(name: string): string | undefined {
  return UPLOAD.exec(name)?.[1];
}

/** Where the chain stands: its size, the parts written, and the tails not yet in a part. */
export interface Position {
  size: number;
  /** bytes in parts */
  partsEnd: number;
  nextPart: number;
  /** the upload tag of the parts, when there are parts */
  tag?: string;
  /** the tail bytes `[partsEnd, size)`, as ranges of record bodies */
  pending: Piece[];
}

/** Where `chain` stands: its size, the parts written, and the tails not yet in a part. */
export function positionOf(chain: readonly Record[]): Position {
  const size = chain.at(-1)?.end ?? 0;
  let last = -1;
  for (let i = chain.length - 1; i >= 0 && last < 0; i--) if (chain[i]!.parts) last = i;
  const withParts = chain[last];
  const partsEnd = withParts ? withParts.end - withParts.tail : 0;
  const pending: Piece[] = [];
  for (const r of chain.slice(Math.max(0, last))) {
    const from = Math.max(partsEnd, r.end - r.tail);
    if (r.end > from) pending.push({ key: r.name, start: from - (r.end - r.tail), end: r.end - (r.end - r.tail) - 1 });
  }
  return { size, partsEnd, nextPart: (withParts?.parts?.last ?? 0) + 1, tag: withParts?.parts?.tag, pending };
}


/** The chain of records from offset 0, each starting where the previous ended; it stops before a gap or an offset two records claim. */
export function chainOf(records: readonly Record[]): Record[] {
  const at = new Map<number, Record[]>();
  for (const r of records) at.set(r.start, [...(at.get(r.start) ?? []), r]);
  const chain: Record[] = [];
  for (let offset = 0; ; ) {
    const here = at.get(offset);
    if (here?.length !== 1 || here[0]!.end <= offset) return chain;
    chain.push(here[0]!);
    offset = here[0]!.end;
  }
}

