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
 * /_gc/markers/<run-id>/candidates/<alg>/<hex[0:2]>             the digests GC run <run-id> may sweep, one hex per line
 * /_gc/runs/<run-id>                                            a GC run's record (state, times, report)
 * /_notifications/<endpoint>/queue/<batch>                      events not yet delivered to a notification endpoint
 * /_notifications/<endpoint>/lease, .../status                  the replica delivering to it; its last delivery
 * /_index/snapshot, /_index/drafts/<id>                         the admin index as of a moment; snapshots being written
 * /_index/journal/<minute>/<ms>-<writer>-<sequence>             the admin index's change events of one process
 * ```
 * Repository path components start with `[a-z0-9]`, so `_layers` and its siblings never collide with a name.
 *
 * This file is the layout's one entry point (`import * as layout from '.../storage/layout.js'`); the
 * builders live beside it, one area each: layout/ids.ts (upload and GC run ids), layout/content.ts
 * (blobs and repositories), layout/uploads.ts, layout/gc.ts, layout/admin-index.ts,
 * layout/notifications.ts, and layout/classify.ts (what a path holds, for the admin index).
 * Nothing else builds a storage path.
 */
export * from './layout/ids.js';
export * from './layout/content.js';
export * from './layout/uploads.js';
export * from './layout/gc.js';
export * from './layout/classify.js';
export * from './layout/admin-index.js';
export * from './layout/notifications.js';
