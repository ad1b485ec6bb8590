/**
 * The pull-through cache's endpoints of the admin API (JSON), mounted at `/admin/v1` (docs/proxy.md):
 * - `GET /cache`: `{upstreams: [{name, url, prefix, default, namespaces, tagttlSeconds, counts, hitRatio,
 *   health: {reachable, lastContact, lastError}}]}`, the counters since the server started (hits, misses,
 *   revalidations, stale answers, upstream errors), the share of requests answered from the cache, and
 *   each upstream's health (an upstream nothing was heard from for 30 s is pinged first, src/proxy/health.ts);
 * - `POST /cache/warm` with `{"references": ["python:3.12-slim", "ghcr.io/org/tool:1"], "platforms": ["linux/amd64"]}`:
 *   fetches the images into the cache and answers when they are there, 200 `{results: [{reference,
 *   upstream, repository, digest, manifests, blobs, fetched, bytes, error?}]}` (a reference that failed
 *   has `error`; the others are cached all the same).
 * Both answer 404 UNSUPPORTED when the configuration has no `proxy` section.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import { RegistryError } from '../oci/errors.js';
import { parsePlatform } from '../oci/platform.js';
import type { PullThroughCache } from '../proxy/cache.js';
import { warmImage } from '../proxy/warm.js';
import { bodyParserError, type BodyKind } from './body-errors.js';
import { methodNotAllowed } from './errors.js';

/** Most references one warm request may name. */
const MAX_REFERENCES = 100;

const warmBody = z.strictObject({
  references: z.array(z.string().min(1).max(512)).min(1, 'name at least one image reference').max(MAX_REFERENCES, `at most ${MAX_REFERENCES} references per request`),
  platforms: z.array(z.string().max(64)).max(16).optional(),
});

const parseJson = express.json({ limit: 64 * 1024, type: () => true });
const BODY: BodyKind = { what: 'the request body', limits: '64 KiB', accepts: 'application/json in UTF-8' };

/** The router of `/admin/v1/cache` and `/admin/v1/cache/warm`; `proxy` is undefined without a `proxy` section. */
export function adminCacheRouter(proxy: PullThroughCache | undefined): Router {
  const router = Router();
  const required = (): PullThroughCache => {
    if (!proxy) throw new RegistryError('UNSUPPORTED', { status: 404, message: 'this registry has no pull-through cache: add a proxy section to its configuration (docs/proxy.md)' });
    return proxy;
  };
  router.get('/cache', async (_req, res) => {
    res.status(200).json(await required().report());
  });
  router.post(
    '/cache/warm',
    (req, res, next) => parseJson(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyParserError(err, BODY))),
    async (req, res) => {
      const cache = required();
      const parsed = warmBody.safeParse(req.body);
      if (!parsed.success) {
        throw new RegistryError('UNSUPPORTED', {
          status: 400,
          message: `expected {"references": ["image:tag", ...], "platforms": ["os/arch", ...]}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`,
        });
      }
      const platforms = (parsed.data.platforms ?? []).map((p) => {
        try {
          return parsePlatform(p);
        } catch (err) {
          throw new RegistryError('UNSUPPORTED', { status: 400, message: (err as Error).message });
        }
      });
      const results = [];
      for (const reference of parsed.data.references) results.push(await warmImage(cache, reference, platforms));
      res.status(200).json({ results });
    },
  );
  for (const [path, allow] of [['/cache', 'GET'], ['/cache/warm', 'POST']] as const) {
    router.all(path, (req) => {
      throw methodNotAllowed(req, allow);
    });
  }
  return router;
}
