/**
 * `GET /admin/v1/retention` (docs/admin-api.md): the garbage collection settings in force, for the
 * web page's cleanup view: the retention rules (`gc.retention`), `gc.deleteuntagged`, the grace
 * period, the upload purge age and the schedule. What the rules would delete now is what a dry run
 * (`POST /admin/v1/gc` with `{"dryRun": true}`) reports. Durations are in milliseconds.
 */
import { Router } from 'express';
import type { Config } from '../config/schema.js';

/** One retention rule as the endpoint answers it (`gc.retention[]`; absent keys are null). */
export interface RetentionRuleView {
  /** the repository glob */
  name: string;
  keepLast: number | null;
  /** RE2 regular expression of tags to keep */
  keepTags: string | null;
  /** delete tags pushed longer ago than this, ms */
  olderThanMs: number | null;
  deleteUntagged: boolean;
}

/** What `GET /admin/v1/retention` answers. */
export interface RetentionView {
  rules: RetentionRuleView[];
  /** `gc.deleteuntagged`: untagged manifests are deleted in every repository */
  deleteUntagged: boolean;
  /** `gc.grace`, ms: nothing younger is swept */
  graceMs: number;
  /** `gc.uploadpurge.age`, ms */
  uploadPurgeAgeMs: number;
  /** `gc.interval`, ms; null when runs are on demand only */
  intervalMs: number | null;
}

/** The view of a `gc` section. */
export function retentionView(gc: Config['gc']): RetentionView {
  return {
    rules: gc.retention.map((r) => ({
      name: r.name,
      keepLast: r.keeplast ?? null,
      keepTags: r.keeptags ?? null,
      olderThanMs: r.olderthan ?? null,
      deleteUntagged: r.deleteuntagged ?? false,
    })),
    deleteUntagged: gc.deleteuntagged,
    graceMs: gc.grace,
    uploadPurgeAgeMs: gc.uploadpurge.age,
    intervalMs: gc.interval ?? null,
  };
}

/** The router of `GET /admin/v1/retention`, mounted at `/admin/v1`. */
export function adminRetentionRouter(config: Config): Router {
  const router = Router();
  const view = retentionView(config.gc);
  router.get('/retention', (_req, res) => {
    res.status(200).json(view);
  });
  return router;
}
