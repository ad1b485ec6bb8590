/**
 * The garbage collection endpoints of the admin API (JSON), mounted at `/admin/v1`:
 * - `POST /gc` with `{"dryRun": bool, "deleteUntagged": bool}` as application/json, or no body (both optional, default false;
 *   `deleteUntagged` adds to `gc.deleteuntagged`, it cannot turn it off): 202 `{id}`; the run goes
 *   on in the background. 409 GC_RUNNING, naming the run in the way (`detail.runId`), while this
 *   process has a run under way (a dry run too: one run at a time, see gc/running.ts) or, for any
 *   run, dry or not, while another run holds the lease; runs are not queued: retry later.
 * - `GET /gc/{id}`: `{id, state, dryRun, deleteUntagged, startedAt, finishedAt, report, error}`; 404 GC_RUN_UNKNOWN.
 * - `GET /gc`: `{runs: [...]}`, the recent runs (also those of `wharf gc` and of other processes), newest first.
 * Errors are the spec's JSON shape. Who may call these is decided by the auth layer in front of them.
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { gcOptionsFrom } from '../gc/options.js';
import { GcBusyError } from '../gc/lease.js';
import { GcRunRecords, startRecordedRun, type GcRunRecord } from '../gc/runs.js';
import { RegistryError } from '../oci/errors.js';
import type { StorageDriver } from '../storage/driver.js';
import { bodyParserError, type BodyKind } from './body-errors.js';
import { methodNotAllowed } from './errors.js';

/** What the GC endpoints need. */
export interface AdminGcDeps {
  config: Config;
  storage: StorageDriver;
  logger: Logger;
  /** lease timing for runs started here (tests shorten it) */
  lease?: { ttlMs?: number; settleMs?: number };
  /** told of each run started here once it ended (metrics) */
  onRun?: (record: GcRunRecord) => void;
}

const startBody = z.strictObject({ dryRun: z.boolean().optional(), deleteUntagged: z.boolean().optional() });

/** Largest accepted request body, bytes. */
const MAX_BODY = 4096;

const parseJson = express.json({ limit: MAX_BODY, type: () => true });

/** How {@link bodyParserError} names this body. */
const BODY: BodyKind = { what: 'the request body', limits: `${MAX_BODY} bytes`, accepts: 'application/json in UTF-8' };

/**
 * Reads the optional JSON body of `POST /gc` into `req.body` (undefined or `{}` when there is none).
 * Errors: 415 UNSUPPORTED for a body whose Content-Type is not JSON (`application/json`, `*\/*+json`)
 * or whose Content-Encoding or charset is unknown; 413 SIZE_INVALID over {@link MAX_BODY}; 400
 * GC_REQUEST_INVALID for a body that is not JSON; other body-parser errors as {@link bodyParserError} maps them.
 */
function jsonBody(req: Request, res: Response, next: NextFunction): void {
  const type = req.headers['content-type'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && type !== undefined && req.is(['json', '+json']) === false) {
    req.resume();
    next(new RegistryError('UNSUPPORTED', { status: 415, message: `Content-Type ${JSON.stringify(type.slice(0, 100))} is not JSON: send the body as application/json, or send no body for the defaults` }));
    return;
  }
  parseJson(req, res, (err?: unknown) => {
    const e = err as { type?: unknown; message?: unknown } | undefined;
    if (e === undefined) next();
    else next(e.type === 'entity.parse.failed' ? invalid(`the request body is not JSON: ${String(e.message).slice(0, 200)}`) : bodyParserError(err, BODY));
  });
}

/**
 * The options of `POST /gc` from its parsed body.
 * @throws RegistryError GC_REQUEST_INVALID (400)
 */
function startOptions(body: unknown): z.output<typeof startBody> {
  if (body === undefined) return {};
  const parsed = startBody.safeParse(body);
  if (!parsed.success) {
    throw invalid(`expected {"dryRun": true|false, "deleteUntagged": true|false}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function invalid(message: string): RegistryError {
  return new RegistryError('GC_REQUEST_INVALID', { message, detail: { reason: message } });
}

/** The router of `/admin/v1/gc` and `/admin/v1/gc/{id}`. */
export function adminGcRouter(deps: AdminGcDeps): Router {
  const records = new GcRunRecords(deps.storage);
  const router = Router();
  router.post('/gc', jsonBody, async (req, res) => {
    const body = startOptions(req.body);
    const options = { ...gcOptionsFrom(deps.config.gc, body), ...(deps.lease ? { lease: deps.lease } : {}) };
    try {
      const { id, done } = await startRecordedRun(deps.storage, options, deps.logger);
      if (deps.onRun) void done.then(deps.onRun);
      res.status(202).setHeader('Location', `/admin/v1/gc/${id}`).json({ id });
    } catch (err) {
      if (!(err instanceof GcBusyError)) throw err;
      const follow = err.runId ? `; follow it at /admin/v1/gc/${err.runId}` : '';
      throw new RegistryError('GC_RUNNING', { message: `${err.message}${follow}`, detail: { runId: err.runId ?? null } });
    }
  });
  router.get('/gc', async (_req, res) => {
    res.status(200).json({ runs: await records.list() });
  });
  router.get('/gc/:id', async (req, res) => {
    const record = await records.get(req.params.id);
    if (!record) throw new RegistryError('GC_RUN_UNKNOWN', { message: `no garbage collection run ${req.params.id.slice(0, 100)}`, detail: { id: req.params.id.slice(0, 100) } });
    res.status(200).json(record);
  });
  for (const [path, allow] of [['/gc', 'GET, POST'], ['/gc/:id', 'GET']] as const) {
    router.all(path, (req) => {
      throw methodNotAllowed(req, allow);
    });
  }
  return router;
}
