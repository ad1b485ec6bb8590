/**
 * Paths of the admin index's objects under `/_index`: its snapshot, the drafts of the next one, and
 * its journal of change events (one folder per minute). See layout.ts for the whole tree.
 */
import type { UploadId } from './ids.js';

/** Root of the admin index's objects: its snapshot and its journal of changes. */
export const INDEX = '/_index';

/** The admin index's snapshot: one object, replaced whole. */
export function indexSnapshot(): string {
  return `${INDEX}/snapshot`;
}

/** Where a snapshot is written before it replaces {@link indexSnapshot} (a chunked object, see StorageDriver.append). */
export function indexSnapshotDraft(id: UploadId): string {
  return `${INDEX}/drafts/${id}`;
}

/** The folder of snapshot drafts. */
export function indexSnapshotDrafts(): string {
  return `${INDEX}/drafts`;
}

/** The folder of the admin index's journal: one folder per minute. */
export function indexJournal(): string {
  return `${INDEX}/journal`;
}

/**
 * The journal's folder of minute `minute` (ms since the epoch / 60000).
 * @throws Error for a minute that is not a non-negative safe integer
 */
export function indexJournalMinute(minute: number): string {
  if (!Number.isSafeInteger(minute) || minute < 0) throw new Error(`invalid journal minute ${minute}`);
  return `${INDEX}/journal/${String(minute).padStart(10, '0')}`;
}

const JOURNAL_ENTRY = /^\d{13}-[0-9a-f]{8}-\d{1,15}$/;

/** True when `value` has the shape of a journal entry's name (`<ms>-<writer>-<sequence>`). */
export function isJournalEntry(value: string): boolean {
  return JOURNAL_ENTRY.test(value);
}

/**
 * A journal entry of minute `minute`, named `<ms>-<writer>-<sequence>` (see {@link isJournalEntry}).
 * @throws Error for an entry name of another shape
 */
export function indexJournalEntry(minute: number, entry: string): string {
  if (!isJournalEntry(entry)) throw new Error(`invalid journal entry "${entry.slice(0, 40)}"`);
  return `${indexJournalMinute(minute)}/${entry}`;
}
