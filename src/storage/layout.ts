/**
 * The storage layout: the ONLY module that turns repository names, tags, digests and upload
 * session ids into storage paths. It takes validated (branded) values only, so a path can never be
 * built from unchecked request input.
 *
 * ```
 * /blobs/<alg>/<hex[0:2]>/<hex>                                  every blob's and manifest's bytes, immutable
 * /repositories/<name>/_layers/<alg>/<hex>                      link: the repository may serve this blob
 * /repositories/<name>/_manifests/revisions/<alg>/<hex>         link: this manifest is in the repository (JSON: media type)
 * /repositories/<name>/_manifests/tags/<tag>                    the tag (JSON: digest, pushed at; a cached tag: when last checked upstream)
 * /repositories/<name>/_manifests/pulls/<tag>                   when the tag was last pulled (ISO 8601; written at most hourly)
 * /repositories/<name>/_referrers/<alg>/<subject-hex>/<alg>/<hex>  descriptor of a manifest whose subject is <subject>
 * /uploads/<id>/data, /uploads/<id>/info                        an upload session: bytes so far; repository and start time
 * /_gc/lease                                                    the garbage collector's lease (run id, owner, phase, expiry)
 * /_gc/markers/<run-id>/touched/<alg>/<hex>                     a digest a push used while GC run <run-id> was active
 * /_gc/markers/<run-id>/candidates/<alg>/<hex>                  a digest GC run <run-id> may sweep
 * /_gc/runs/<run-id>                                            a GC run's record (state, times, report)
 * /_notifications/<endpoint>/queue/<batch>                      events not yet delivered to a notification endpoint
 * /_notifications/<endpoint>/lease, .../status                  the replica delivering to it; its last delivery
 * /_index/snapshot, /_index/drafts/<id>                         the admin index as of a moment; snapshots being written
 * /_index/journal/<minute>/<ms>-<writer>-<sequence>             the admin index's change events of one process
 * ```
 * Repository path components start with `[a-z0-9]`, so `_layers` and its siblings never collide with a name.
 */
import { isDigest, type Algorithm, type Digest } from '../oci/digest.js';
import { isRepositoryName, type RepositoryName, type Tag } from '../oci/reference.js';

/** A validated upload session id (a lowercase UUID). */
export type UploadId = string & { readonly __upload: unique symbol };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** True when `value` has the shape of an upload session id. */
export function isUploadId(value: string): value is UploadId {
  return UUID.test(value);
}

function split(d: Digest): [string, string] {
  const colon = d.indexOf(':');
  return [d.slice(0, colon), d.slice(colon + 1)];
}

/** Root of all blobs. */
export const BLOBS = '/blobs';
/** Root of all repositories. */
export const REPOSITORIES = '/repositories';
/** Root of all upload sessions. */
export const UPLOADS = '/uploads';

/** The bytes of a blob (or a manifest). */
export function blobData(d: Digest): string {
  const [alg, hex] = split(d);
  return `${BLOBS}/${alg}/${hex.slice(0, 2)}/${hex}`;
}

/** A repository's folder. */
export function repository(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}`;
}

/** The folder of a repository's blob links. */
export function layerLinks(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_layers`;
}

/** The link that lets `name` serve blob `d`. */
export function layerLink(name: RepositoryName, d: Digest): string {
  const [alg, hex] = split(d);
  return `${REPOSITORIES}/${name}/_layers/${alg}/${hex}`;
}

/** The folder of a repository's manifests (revisions and tags). */
export function manifests(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_manifests`;
}

/** The link recording that manifest `d` is in repository `name`. */
export function manifestRevision(name: RepositoryName, d: Digest): string {
  const [alg, hex] = split(d);
  return `${REPOSITORIES}/${name}/_manifests/revisions/${alg}/${hex}`;
}

/** The folder of a repository's tags. */
export function tags(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_manifests/tags`;
}

/** One tag of a repository. */
export function tag(name: RepositoryName, t: Tag): string {
  return `${REPOSITORIES}/${name}/_manifests/tags/${t}`;
}

/** When tag `t` of repository `name` was last pulled: a small object holding an ISO 8601 time (see registry/pull-times.ts). */
export function tagPull(name: RepositoryName, t: Tag): string {
  return `${REPOSITORIES}/${name}/_manifests/pulls/${t}`;
}

/** The folder of the referrers of `subject` in a repository. */
export function referrersOf(name: RepositoryName, subject: Digest): string {
  const [alg, hex] = split(subject);
  return `${REPOSITORIES}/${name}/_referrers/${alg}/${hex}`;
}

/** The folder of the referrers of `subject` whose own digests use `algorithm`; it holds one object per referrer, named by its hex. */
export function referrersOfAlgorithm(name: RepositoryName, subject: Digest, algorithm: Algorithm): string {
  return `${referrersOf(name, subject)}/${algorithm}`;
}

/** The descriptor of manifest `d`, a referrer of `subject`. */
export function referrer(name: RepositoryName, subject: Digest, d: Digest): string {
  const [alg, hex] = split(d);
  return `${referrersOf(name, subject)}/${alg}/${hex}`;
}

/** The folder of every referrer of every subject in a repository. */
export function referrersRoot(name: RepositoryName): string {
  return `${REPOSITORIES}/${name}/_referrers`;
}

/** The folder of a repository's manifest revisions of `algorithm`; it holds one link per manifest, named by its hex. */
export function manifestRevisionsOf(name: RepositoryName, algorithm: Algorithm): string {
  return `${REPOSITORIES}/${name}/_manifests/revisions/${algorithm}`;
}

/** The folder of the blobs of `algorithm`; it holds one shard folder per first two hex characters. */
export function blobShards(algorithm: Algorithm): string {
  return `${BLOBS}/${algorithm}`;
}

/** The shard folder of the blobs of `algorithm` whose hex starts with `prefix` (two hex characters); it holds one object per blob, named by its hex. */
export function blobShard(algorithm: Algorithm, prefix: string): string {
  if (!/^[0-9a-f]{2}$/.test(prefix)) throw new Error(`invalid blob shard "${prefix.slice(0, 20)}"`);
  return `${BLOBS}/${algorithm}/${prefix}`;
}

/** An upload session's folder. */
export function upload(id: UploadId): string {
  return `${UPLOADS}/${id}`;
}

/** The bytes an upload session received so far: a chunked object (see StorageDriver.append), a file on disk, a folder of part objects on S3. */
export function uploadData(id: UploadId): string {
  return `${UPLOADS}/${id}/data`;
}

/** An upload session's info (owning repository, start time). */
export function uploadInfo(id: UploadId): string {
  return `${UPLOADS}/${id}/info`;
}

/** A throw-away object the server writes and deletes at start-up to check that the storage is writable. */
export function startupProbe(id: string): string {
  return `/_probe-${id.replace(/[^a-z0-9-]/g, '')}`;
}

/**
 * The repository whose content `path` is part of: its blob links (`_layers`) or its manifests
 * (`_manifests`: revisions and tags), the folders whose presence makes a folder a repository in the
 * catalog. Undefined for any other path (blobs, uploads, referrers, the GC's objects, a repository's
 * folder itself) and for a name that is not a valid repository name.
 */
export function repositoryOfContent(path: string): RepositoryName | undefined {
  if (!path.startsWith(`${REPOSITORIES}/`)) return undefined;
  const components = path.slice(REPOSITORIES.length + 1).split('/');
  const internal = components.findIndex((c) => c === '_layers' || c === '_manifests');
  if (internal < 1) return undefined;
  const name = components.slice(0, internal).join('/');
  return isRepositoryName(name) ? name : undefined;
}

/**
 * True when `path` is the storage root, the repositories root or anything under it: deleting or
 * moving it may remove a repository.
 */
export function mayHoldRepositories(path: string): boolean {
  return path === '/' || path === REPOSITORIES || path.startsWith(`${REPOSITORIES}/`);
}

/** Names of the layout's folders inside a repository's folder; anything else there is a nested repository. */
export const REPOSITORY_INTERNALS: ReadonlySet<string> = new Set(['_layers', '_manifests', '_referrers']);

/** The folder of a repository's blob links of `algorithm`; it holds one link per blob, named by its hex. */
export function layerLinksOf(name: RepositoryName, algorithm: Algorithm): string {
  return `${REPOSITORIES}/${name}/_layers/${algorithm}`;
}

/** Root of the garbage collector's own objects (its lease, touch markers and run records). */
export const GC = '/_gc';

/** A validated garbage collection run id (a lowercase UUID). */
export type GcRunId = string & { readonly __gcRun: unique symbol };

/** True when `value` has the shape of a garbage collection run id. */
export function isGcRunId(value: string): value is GcRunId {
  return UUID.test(value);
}

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

/** What a storage path is, for the admin index's change events (see {@link classifyPath}). */
export type PathKind =
  | { kind: 'tag'; repository: RepositoryName; tag: Tag }
  | { kind: 'revision'; repository: RepositoryName; digest: Digest }
  /** a blob link, a referrer entry, or a folder of the repository that holds neither tags nor revisions */
  | { kind: 'repository-content'; repository: RepositoryName }
  /** a folder of the repository that holds tags or revisions (or the repository's own folder, and everything under it) */
  | { kind: 'repository'; repository: RepositoryName }
  | { kind: 'blob'; digest: Digest }
  /** a folder that holds blobs or repositories: anything may have changed */
  | { kind: 'all' };

const TAG_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * What `path` holds, as far as the admin index cares: a tag, a manifest revision, other repository
 * content, a repository (or a folder of repositories: its name prefix), a blob, or a folder of
 * blobs or repositories; undefined for anything else (uploads, the GC's and the index's own objects).
 */
export function classifyPath(path: string): PathKind | undefined {
  if (path === '/' || path === REPOSITORIES || path === BLOBS || path.startsWith(`${BLOBS}/`)) {
    const parts = path.split('/');
    const digest = `${parts[2]}:${parts[4]}`;
    if (parts.length === 5 && isDigest(digest)) return { kind: 'blob', digest };
    return parts.length >= 5 ? undefined : { kind: 'all' };
  }
  if (!path.startsWith(`${REPOSITORIES}/`)) return undefined;
  const components = path.slice(REPOSITORIES.length + 1).split('/');
  const internal = components.findIndex((c) => c.startsWith('_'));
  if (internal === -1) {
    const name = components.join('/');
    return isRepositoryName(name) ? { kind: 'repository', repository: name } : undefined;
  }
  const name = components.slice(0, internal).join('/');
  if (!isRepositoryName(name)) return undefined;
  const [area, sub, a, b] = components.slice(internal);
  if (area === '_manifests') {
    if (sub === 'tags' && a !== undefined && b === undefined && TAG_NAME.test(a)) return { kind: 'tag', repository: name, tag: a as Tag };
    const digest = `${a}:${b}`;
    if (sub === 'revisions' && isDigest(digest)) return { kind: 'revision', repository: name, digest };
    return { kind: 'repository', repository: name };
  }
  return { kind: 'repository-content', repository: name };
}

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

/** The journal's folder of minute `minute` (ms since the epoch / 60000). */
export function indexJournalMinute(minute: number): string {
  if (!Number.isSafeInteger(minute) || minute < 0) throw new Error(`invalid journal minute ${minute}`);
  return `${INDEX}/journal/${String(minute).padStart(10, '0')}`;
}

const JOURNAL_ENTRY = /^\d{13}-[0-9a-f]{8}-\d{1,15}$/;

/** True when `value` has the shape of a journal entry's name (`<ms>-<writer>-<sequence>`). */
export function isJournalEntry(value: string): boolean {
  return JOURNAL_ENTRY.test(value);
}

/** A journal entry of minute `minute`, named `<ms>-<writer>-<sequence>` (see {@link isJournalEntry}). */
export function indexJournalEntry(minute: number, entry: string): string {
  if (!isJournalEntry(entry)) throw new Error(`invalid journal entry "${entry.slice(0, 40)}"`);
  return `${indexJournalMinute(minute)}/${entry}`;
}

/** Root of the notification queues. */
export const NOTIFICATIONS = '/_notifications';

const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const BATCH_NAME = /^[0-9a-z][0-9a-z-]{0,127}$/;

function endpointFolder(endpoint: string): string {
  if (!ENDPOINT_NAME.test(endpoint) || endpoint.includes('..')) throw new Error(`invalid notification endpoint name "${endpoint.slice(0, 100)}"`);
  return `${NOTIFICATIONS}/${endpoint}`;
}

/** True when `name` has the shape of a notification batch's object name. */
export function isNotificationBatch(name: string): boolean {
  return BATCH_NAME.test(name);
}

/** The folder of the batches of events waiting for endpoint `endpoint` (a configured endpoint's name). */
export function notificationQueue(endpoint: string): string {
  return `${endpointFolder(endpoint)}/queue`;
}

/** One batch of events waiting for endpoint `endpoint`. */
export function notificationBatch(endpoint: string, batch: string): string {
  if (!isNotificationBatch(batch)) throw new Error(`invalid notification batch "${batch.slice(0, 100)}"`);
  return `${notificationQueue(endpoint)}/${batch}`;
}

/** The lease of the process delivering to endpoint `endpoint`. */
export function notificationLease(endpoint: string): string {
  return `${endpointFolder(endpoint)}/lease`;
}

/** The last delivery status of endpoint `endpoint`. */
export function notificationStatus(endpoint: string): string {
  return `${endpointFolder(endpoint)}/status`;
}
